"""marketing stage."""
