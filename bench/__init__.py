"""`make bench` and `make soak`: load against a running Encore, measured and checked."""
