"""Models a sweep recommends: training the chosen recipe into a model folder with its card
(:mod:`.train`, ``model_card.md.j2``) and predicting with one (:mod:`.predict`)."""
