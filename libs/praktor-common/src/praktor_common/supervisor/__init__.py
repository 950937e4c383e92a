"""``praktor up``: the whole suite on one machine, each service a supervised process."""
