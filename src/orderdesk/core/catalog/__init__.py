"""What can be ordered: categories and products (partner items, restaurant products)."""
