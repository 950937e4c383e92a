"""``praktor agent-image build``: build the agent image through the Docker API.

The image is tagged ``praktor-agent:<hash of its inputs>`` and ``praktor-agent:latest``
(the config's default ``defaults.image``); nothing is built when the hash tag exists.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import aiodocker
import typer
from rich.console import Console

from praktor_common.agent_image import (
    DEFAULT_BASE,
    DEFAULT_NAME,
    BuildFailedError,
    ImagePlan,
    SourceNotFoundError,
    build,
    find_source,
    image_exists,
    plan,
    tag_latest,
)

agent_image_app = typer.Typer(help="Build the agent image.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@agent_image_app.command("build")
def build_command(
    base: Annotated[
        str, typer.Option("--base", help="base image (Debian bookworm), e.g. a local one")
    ] = DEFAULT_BASE,
    name: Annotated[str, typer.Option("--name", help="image name")] = DEFAULT_NAME,
    source: Annotated[
        Path | None, typer.Option("--source", help="the Praktor checkout (default: found above .)")
    ] = None,
    docker_host: Annotated[
        str | None,
        typer.Option("--docker-host", envvar="DOCKER_HOST", help="engine URL, e.g. unix:///..."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="build even when the tag exists")] = False,
    ca_cert: Annotated[
        list[Path] | None,
        typer.Option("--ca-cert", help="extra CA certificate (PEM) to trust, e.g. a proxy's"),
    ] = None,
) -> None:
    """Build the agent image (Claude Code, Chromium, the embedding model) unless it exists."""
    image = _plan(source, base, name, ca_cert)
    try:
        built = asyncio.run(_build(image, docker_host, force))
    except BuildFailedError as exc:
        err.print(f"[red]error:[/] the agent image did not build: {exc}")
        raise typer.Exit(code=1) from None
    except (aiodocker.DockerError, OSError, ValueError) as exc:
        err.print(
            f"[red]error:[/] no container engine answered ({exc}); start Docker or Podman "
            "(scripts/podman-setup.sh) and set DOCKER_HOST"
        )
        raise typer.Exit(code=1) from None
    verb = "built" if built else "up to date"
    console.print(f"[green]✓[/] {image.tag} {verb} (also tagged {image.latest})")


@agent_image_app.command("tag")
def tag_command(
    base: Annotated[
        str, typer.Option("--base", help="base image (Debian bookworm), e.g. a local one")
    ] = DEFAULT_BASE,
    name: Annotated[str, typer.Option("--name", help="image name")] = DEFAULT_NAME,
    source: Annotated[
        Path | None, typer.Option("--source", help="the Praktor checkout (default: found above .)")
    ] = None,
    ca_cert: Annotated[
        list[Path] | None,
        typer.Option("--ca-cert", help="extra CA certificate (PEM) to trust, e.g. a proxy's"),
    ] = None,
) -> None:
    """Print the tag `build` with the same options gives this checkout (builds nothing)."""
    print(_plan(source, base, name, ca_cert).tag)


def _plan(source: Path | None, base: str, name: str, ca_cert: list[Path] | None) -> ImagePlan:
    """The image this checkout (found above ``source`` or the current folder) builds."""
    try:
        root = find_source(source.resolve() if source else Path.cwd())
    except SourceNotFoundError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=1) from None
    return plan(root, base_image=base, name=name, ca_certs=ca_cert or ())


async def _build(image: ImagePlan, docker_host: str | None, force: bool) -> bool:
    async with aiodocker.Docker(url=docker_host) as docker:
        if not force and await image_exists(docker, image.tag):
            await tag_latest(docker, image)
            return False
        console.print(f"building {image.tag} from {image.base_image} (this takes minutes)")
        started = time.monotonic()
        async for line in build(docker, image):
            console.print(line, markup=False, highlight=False)
        console.print(f"built in {time.monotonic() - started:.0f} s")
        return True
