"""The family's pages: views, forms, URLs and charts (the top layer below config)."""
