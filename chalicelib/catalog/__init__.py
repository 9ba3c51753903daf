"""A store's catalogue (services, stylists, hours) and the open times it leaves for members to book."""
