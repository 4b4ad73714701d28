"""python -m audit.cli"""
from . import main

main()
