"""The edge: the serving state the control plane publishes, the pure compiler that turns it into one
lookup table, and the agent that programs HAProxy from it."""
