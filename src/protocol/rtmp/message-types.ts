/**
 * RTMP message type ids (RTMP spec 5.4, 6.2, 7.1), user control events (7.1.7) and the
 * chunk stream ids we send on. Protocol control messages go on csid 2 with stream id 0
 * (5.4); commands on csid 3; media on their own csids so audio and video interleave.
 */
export const MessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAmf3: 15,
  SharedObjectAmf3: 16,
  CommandAmf3: 17,
  DataAmf0: 18,
  SharedObjectAmf0: 19,
  CommandAmf0: 20,
  Aggregate: 22,
} as const;

export const UserControlEvent = {
  StreamBegin: 0,
  StreamEof: 1,
  StreamDry: 2,
  SetBufferLength: 3,
  StreamIsRecorded: 4,
  PingRequest: 6,
  PingResponse: 7,
} as const;

export const ChunkStreamId = {
  Control: 2,
  Command: 3,
  Audio: 4,
  Stream: 5,
  Video: 6,
} as const;

/** Set Peer Bandwidth limit types (5.4.5). */
export const PeerBandwidthLimit = { Hard: 0, Soft: 1, Dynamic: 2 } as const;
