"""Networks: generators and discriminators built by name through the plugin registries.

:mod:`ganrestore.models.padding` pads inputs to a strided network's size multiple, for the
networks and the tiler alike (imported from there: this package itself stays free of torch).
"""

from ganrestore.models.networks import build_discriminator, build_generator, count_parameters

__all__ = ["build_discriminator", "build_generator", "count_parameters"]
