"""Training: GAN steps, the trainer loop, checkpoints, metrics and several processes."""
