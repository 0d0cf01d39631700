"""Tools for developers and operators of LCA that are not part of the served application."""
