"""A local stand-in for CLICK (click.uz), so payments work without reaching CLICK (see click.md)."""
