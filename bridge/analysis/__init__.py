"""One analysis home: the passes over the timeline's media that later stages share.

``picture``: each shot decoded once at a low rate (colour, motion, histograms);
``sound``: the timeline's audio clips decoded once into one 10 ms energy track;
``cuts``: edit points plus cuts detected inside long shots, from the picture pass.
The affect estimator takes both passes as inputs, the cut detector the picture pass, and
the music's ducking side-chain reads the sound pass from the ``Analysis``.
"""
