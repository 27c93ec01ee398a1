"""Where sweeps run and keep their state: connecting to Ray (:mod:`cluster.connect`), resources
per trial (:mod:`cluster.resources`), storage on local or shared folders and object stores
(:mod:`cluster.storage`), and the launcher/KubeRay configs beside them."""
