"""What only requests use: the base form, permissions, languages, the page and write helpers,
error pages and downloads."""
