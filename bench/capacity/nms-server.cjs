// node-media-server (the npm version pinned in package.json) as the capacity benchmark
// runs it: RTMP only, its documented default settings, on the port given.
const NodeMediaServer = require("node-media-server");

const port = Number(process.argv[2]);
const nms = new NodeMediaServer({
  logType: 1, // errors only, like the other servers in the bench
  rtmp: { port, chunk_size: 60000, gop_cache: true, ping: 30, ping_timeout: 60 },
});
nms.run();
process.on("SIGTERM", () => {
  nms.stop();
  process.exit(0);
});
