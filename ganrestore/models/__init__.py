"""Networks: generators and discriminators built by name through the plugin registries."""

from ganrestore.models.networks import (
    NetworkSpec,
    build_discriminator,
    build_generator,
    count_parameters,
)

__all__ = ["NetworkSpec", "build_discriminator", "build_generator", "count_parameters"]
