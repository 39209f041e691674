"""How owners are spelled in a plan and in the store (pure constants, no imports): the
compiled plan, the expansion into obligations and the store's tables share them."""

ALL_OF_GROUP = "@"  # "@group": every organisation of the group, one obligation each
NO_ORG = ""  # obligations of an item owned by units or people, not by each organisation
