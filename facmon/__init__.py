"""facmon: measured energy saving and maintenance quality for public-institution office buildings."""
