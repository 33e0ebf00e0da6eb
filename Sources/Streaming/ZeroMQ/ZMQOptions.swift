import CZeroMQ

// libzmq option numbers re-exported for modules that do not import CZeroMQ.
public let ZMQ_SNDHWM_: Int32 = ZMQ_SNDHWM
public let ZMQ_RCVHWM_: Int32 = ZMQ_RCVHWM
public let ZMQ_LINGER_: Int32 = ZMQ_LINGER
public let ZMQ_SNDTIMEO_: Int32 = ZMQ_SNDTIMEO
public let ZMQ_RCVTIMEO_: Int32 = ZMQ_RCVTIMEO
public let ZMQ_RCVBUF_: Int32 = ZMQ_RCVBUF
