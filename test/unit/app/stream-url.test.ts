import { describe, it, expect } from "vitest";
import { parseStreamRequest, tcUrlHost } from "../../../src/app/stream-url.js";

describe("parseStreamRequest", () => {
  it("takes the vhost from the tcUrl host", () => {
    expect(parseStreamRequest("rtmp://a.com:1935/live", "live", "cam1")).toEqual({
      vhost: "a.com",
      app: "live",
      stream: "cam1",
      param: "",
    });
  });

  it("takes vhost= from the stream name, the app or the tcUrl, in that order", () => {
    expect(parseStreamRequest("rtmp://127.0.0.1/live", "live", "cam1?vhost=b.com&token=x").vhost).toBe("b.com");
    expect(parseStreamRequest("rtmp://127.0.0.1/live?vhost=c.com", "live?vhost=c.com", "cam1")).toMatchObject({
      vhost: "c.com",
      app: "live",
      param: "?vhost=c.com",
    });
  });

  it("reads SRS's ...vhost... form", () => {
    expect(parseStreamRequest("rtmp://127.0.0.1/live...vhost...d.com", "live...vhost...d.com", "s")).toMatchObject({
      vhost: "d.com",
      app: "live",
    });
  });

  it("keeps the stream's query string as the param", () => {
    expect(parseStreamRequest("rtmp://h/live", "live", "s?token=abc").param).toBe("?token=abc");
  });

  it("reads hosts of IPv6 tcUrls", () => {
    expect(tcUrlHost("rtmp://[::1]:1935/live")).toBe("::1");
    expect(tcUrlHost("nonsense")).toBe("");
  });
});
