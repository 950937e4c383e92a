"""The service runtime: what every Praktor service does around its own behaviour."""
