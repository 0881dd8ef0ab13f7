# Prints every VRRP (IP protocol 112) frame seen on an interface as one hex line
# of the IP packet (Ethernet header removed). Stops after the given seconds.
import socket, sys, time, binascii
iface, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
s.settimeout(0.2)
end = time.time() + secs
while time.time() < end:
    try:
        frame, addr = s.recvfrom(65535)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    et = int.from_bytes(frame[12:14], 'big')
    ip = frame[14:]
    if et == 0x0800 and ip[9] == 112:
        print(binascii.hexlify(ip).decode(), flush=True)
    elif et == 0x86dd and ip[6] == 112:
        print(binascii.hexlify(ip).decode(), flush=True)
