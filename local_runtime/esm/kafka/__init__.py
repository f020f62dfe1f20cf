"""esm/kafka"""
