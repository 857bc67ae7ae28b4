"""Tabular suites: a large random forest is the teacher, small regression forests are the students.

The seed paper's tabular half (GAN-assisted model compression, GAN-MC): rows from a generator,
labelled by the teacher, are added to the real compression set to make small students better.
"""
