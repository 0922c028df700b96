"""The demo's story: months of handled crises and one live one, played through the real services."""
