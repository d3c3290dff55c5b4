import StreamCore
print("streamctl")
