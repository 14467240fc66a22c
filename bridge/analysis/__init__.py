"""One analysis home: the passes over the timeline's media that later stages share.

``picture``: each shot decoded once at a low rate (colour, motion, histograms);
``cuts``: edit points plus cuts detected inside long shots, from the picture pass.
The affect estimator and the cut detector take the picture pass as an input.
"""
