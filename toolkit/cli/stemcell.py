"""placeholder"""
import click
@click.group("stemcell")
def group() -> None:
    """Import stemcells."""
