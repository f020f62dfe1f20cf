"""`python -m bench.cost [--events N] [--seed S]`: the DynamoDB cost section of `make bench` on its own."""

from bench.cost.run import main

if __name__ == "__main__":
    main()
