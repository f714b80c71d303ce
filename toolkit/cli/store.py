"""placeholder"""
import click
@click.group("store")
def group() -> None:
    """The CPI store."""
