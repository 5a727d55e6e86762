"""Monthly points budgets: what a spent budget does to credits, and how admins set them."""
