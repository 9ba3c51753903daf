"""Infrastructure as code: the SAM template for one stage in one region, built from chalicelib/resources.py."""
