"""The local stack: moto, the Scheduler emulator, the simulated clock; never shipped in the Lambda package."""
