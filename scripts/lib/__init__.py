"""The workflow's library: modules the rules' scripts import, with no command line of their own.

A module here is a rerun unit: a rule whose script imports it, directly or through another
module here, reruns when it changes (plumbing/code_inputs.py follows the imports).
"""
