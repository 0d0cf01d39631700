"""What only operators run: the ``flask lca …`` commands, seeding, demo data, backup and restore,
synthetic data. A served request never imports this package."""
