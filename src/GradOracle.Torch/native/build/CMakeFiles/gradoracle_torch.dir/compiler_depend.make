# Empty compiler generated dependencies file for gradoracle_torch.
# This may be replaced when dependencies are built.
