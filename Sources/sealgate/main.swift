print("sealgate")
