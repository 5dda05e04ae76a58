"""For flow authors: the simulator and carrier, journeys, flow tests, diagrams, lint reporters."""
