import sys
print(sys.argv)
print(__name__, __file__)
print(sys.path[0])
if __name__ == "__main__":
    print("main guard ran")
