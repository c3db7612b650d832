/*
 * Sluice player page (index.html): plays one stream with hls.js (HLS) or mpegts.js
 * (HTTP-FLV and WebSocket-FLV), shows its progress and errors, and keeps playing a live
 * stream through errors and republishes by recovering or recreating the player.
 *
 * State, for tests (test/support/browser.ts) and for users poking at the console:
 *
 *   window.sluicePlayer = {
 *     type: 'hls' | 'flv' | 'ws' | null,  url: string | null,  live: boolean,
 *     engine: 'hls.js' | 'native' | 'mpegts.js' | null,
 *     errors: [{ type, details, fatal, time, message? }],   // every player error, oldest first
 *     events: [{ name, time, ... }],                         // start, restarts, discontinuities...
 *     ready: boolean,                                        // true once playback has started
 *     restarts: number,                                      // players destroyed and recreated
 *   }
 *
 * `time` is Date.now() (ms). Plain browser JS: no modules, no build step.
 */
(function () {
  'use strict';

  var RESTART_DELAY_MS = 1000; // after a fatal error, recreate the player this much later
  var STALL_RESTART_MS = 10000; // a live stream that stops advancing this long is recreated
  var MEDIA_RECOVER_WINDOW_MS = 5000; // a 2nd fatal media error within this: recreate instead
  var MAX_LIST = 500; // errors and events kept

  var state = {
    type: null,
    url: null,
    live: true,
    engine: null,
    errors: [],
    events: [],
    ready: false,
    restarts: 0,
  };
  window.sluicePlayer = state;

  var $ = function (id) {
    return document.getElementById(id);
  };
  var video = $('video');
  var params = new URLSearchParams(location.search);

  // ---- state and display -----------------------------------------------------------

  function pushBounded(list, item) {
    list.push(item);
    if (list.length > MAX_LIST) list.splice(0, list.length - MAX_LIST);
  }

  function logEvent(name, extra) {
    var ev = { name: name, time: Date.now() };
    if (extra) for (var k in extra) ev[k] = extra[k];
    pushBounded(state.events, ev);
  }

  function reportError(type, details, fatal, message) {
    var err = { type: String(type), details: String(details), fatal: !!fatal, time: Date.now() };
    if (message) err.message = String(message);
    pushBounded(state.errors, err);
    var li = document.createElement('li');
    if (err.fatal) li.className = 'fatal';
    li.textContent =
      new Date(err.time).toISOString().slice(11, 23) + ' ' + err.type + ' ' + err.details +
      (err.fatal ? ' (fatal)' : '') + (err.message ? ': ' + err.message : '');
    var list = $('errors');
    list.appendChild(li);
    while (list.childNodes.length > 50) list.removeChild(list.firstChild);
    return err;
  }

  function fmt(t) {
    return (Math.round(t * 100) / 100).toFixed(2);
  }

  function render() {
    var ranges = [];
    for (var i = 0; i < video.buffered.length; i++) {
      ranges.push(fmt(video.buffered.start(i)) + '-' + fmt(video.buffered.end(i)));
    }
    $('stat-type').textContent = (state.type || '-') + (state.engine ? ' (' + state.engine + ')' : '') +
      (state.live ? ', live' : '');
    $('stat-state').textContent = (state.ready ? 'playing' : 'starting') +
      (video.paused ? ', paused' : '') + (video.ended ? ', ended' : '') +
      (pendingRestart ? ', restarting' : '');
    $('stat-time').textContent = fmt(video.currentTime) + ' s';
    $('stat-buffered').textContent = ranges.length ? ranges.join(', ') + ' s' : '-';
    $('stat-restarts').textContent = String(state.restarts);
  }

  // ---- choosing what to play -------------------------------------------------------

  /** 'hls', 'flv' or 'ws' from the URL (ws:// or wss:// is WS-FLV), or null. */
  function typeOf(url) {
    var u = new URL(url);
    if (u.protocol === 'ws:' || u.protocol === 'wss:') return 'ws';
    var p = u.pathname.toLowerCase();
    if (p.endsWith('.m3u8')) return 'hls';
    if (p.endsWith('.flv')) return 'flv';
    return null;
  }

  /** The form shown without ?url=: builds an HLS, HTTP-FLV or WS-FLV URL on this host. */
  function showPicker() {
    var form = $('picker');
    form.hidden = false;
    var chosen = 'hls';
    form.querySelectorAll('button').forEach(function (b) {
      b.addEventListener('click', function () {
        chosen = b.getAttribute('data-type');
      });
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var path = $('stream').value.trim().replace(/^\/+|\/+$/g, '') || 'live/livestream';
      var url;
      if (chosen === 'hls') url = '/' + path + '.m3u8';
      else if (chosen === 'flv') url = '/' + path + '.flv';
      else url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/' + path + '.flv';
      location.search = '?' + new URLSearchParams({ url: url }).toString();
    });
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.onload = function () {
        resolve();
      };
      s.onerror = function () {
        reject(new Error('could not load ' + src));
      };
      document.head.appendChild(s);
    });
  }

  // ---- player life cycle -----------------------------------------------------------

  var engine = null; // { destroy() } of the current player
  var generation = 0; // bumped on every (re)creation; callbacks of older players are ignored
  var pendingRestart = null;
  var lastAdvance = { time: 0, at: Date.now() };

  function play() {
    var p = video.play();
    if (p && p.catch) {
      p.catch(function (e) {
        // Autoplay refused or interrupted by a reload: logged, not an error of the stream.
        logEvent('playRejected', { message: String(e && e.message) });
      });
    }
  }

  function destroyEngine() {
    var old = engine;
    engine = null;
    generation++;
    if (old) {
      try {
        old.destroy();
      } catch (e) {
        logEvent('destroyFailed', { message: String(e && e.message) });
      }
    }
  }

  /** Destroys the player now and creates a new one after RESTART_DELAY_MS (once). */
  function restart(reason) {
    if (pendingRestart) return;
    logEvent('restart', { reason: reason });
    destroyEngine();
    pendingRestart = setTimeout(function () {
      pendingRestart = null;
      state.restarts++;
      start();
    }, RESTART_DELAY_MS);
  }

  function start() {
    lastAdvance = { time: video.currentTime, at: Date.now() };
    var gen = ++generation;
    var current = function () {
      return gen === generation;
    };
    if (state.type === 'hls') engine = startHls(current);
    else engine = startFlv(current);
    logEvent('start', { engine: state.engine });
    play();
  }

  function startHls(current) {
    var Hls = window.Hls;
    if (!(Hls && Hls.isSupported()) && video.canPlayType('application/vnd.apple.mpegurl')) {
      state.engine = 'native';
      video.src = state.url;
      return {
        destroy: function () {
          video.removeAttribute('src');
          video.load();
        },
      };
    }
    if (!Hls) throw new Error('hls.js did not load');
    if (!Hls.isSupported()) throw new Error('this browser has neither MSE nor native HLS');
    state.engine = 'hls.js';

    var retry = function (n) {
      return { maxNumRetry: n, retryDelayMs: 500, maxRetryDelayMs: 4000 };
    };
    var policy = function (firstByteMs, loadMs, timeouts, errors) {
      return {
        default: {
          maxTimeToFirstByteMs: firstByteMs,
          maxLoadTimeMs: loadMs,
          timeoutRetry: retry(timeouts),
          errorRetry: retry(errors),
        },
      };
    };
    var hls = new Hls({
      // Live: start 3 target durations behind the edge, jump forward when 10 behind.
      liveSyncDurationCount: 3,
      liveMaxLatencyDurationCount: 10,
      lowLatencyMode: false, // Sluice does not make LL-HLS parts
      backBufferLength: 30,
      // Non-fatal load errors are retried by hls.js itself, with these policies: a
      // publisher that drops and comes back makes a few 404s, not a dead player.
      manifestLoadPolicy: policy(10000, 20000, 2, 4),
      playlistLoadPolicy: policy(10000, 20000, 2, 6),
      fragLoadPolicy: policy(10000, 60000, 4, 6),
    });
    var lastMediaRecover = 0;
    var lastCc = null;

    hls.on(Hls.Events.ERROR, function (_event, data) {
      if (!current()) return;
      var message = (data.error && data.error.message) || data.reason || '';
      reportError(data.type, data.details, data.fatal, message);
      // Non-fatal errors hls.js recovers from itself: loads are retried with the policies
      // above, stalls are nudged over, append errors retried. Interfering (recoverMediaError
      // on every non-fatal media error) would detach the media over a routine buffer stall.
      if (!data.fatal) return;
      // Fatal: a media error gets recoverMediaError once (a second within the window: new
      // player); a network error after the playlist loaded restarts loading in a second;
      // anything else, or a playlist that never loaded, gets a new player.
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && Date.now() - lastMediaRecover > MEDIA_RECOVER_WINDOW_MS) {
        lastMediaRecover = Date.now();
        logEvent('recoverMediaError', { details: data.details });
        hls.recoverMediaError();
        return;
      }
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR && hls.levels && hls.levels.length > 0) {
        // The playlist was loaded before: keep the player and retry loading in a second.
        logEvent('retryLoad', { details: data.details });
        setTimeout(function () {
          if (current()) hls.startLoad();
        }, RESTART_DELAY_MS);
        return;
      }
      restart('hls.js fatal ' + data.type + ' ' + data.details);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, function (_event, data) {
      if (!current()) return;
      logEvent('manifestParsed', { levels: data.levels.length });
      play();
    });
    hls.on(Hls.Events.LEVEL_LOADED, function (_event, data) {
      if (!current() || !data.details) return;
      if (state.live !== !!data.details.live) {
        state.live = !!data.details.live;
        logEvent('live', { live: state.live });
      }
    });
    hls.on(Hls.Events.FRAG_CHANGED, function (_event, data) {
      if (!current()) return;
      var cc = data.frag && data.frag.cc;
      if (lastCc !== null && cc !== lastCc) logEvent('discontinuity', { cc: cc, sn: data.frag.sn });
      lastCc = cc;
    });
    hls.loadSource(state.url);
    hls.attachMedia(video);
    return {
      destroy: function () {
        hls.destroy();
      },
    };
  }

  function startFlv(current) {
    var mpegts = window.mpegts;
    if (!mpegts) throw new Error('mpegts.js did not load');
    if (!mpegts.isSupported()) throw new Error('this browser has no MediaSource: mpegts.js cannot play');
    state.engine = 'mpegts.js';
    var live = state.live;
    var player = mpegts.createPlayer(
      { type: 'flv', isLive: live, url: state.url },
      {
        enableWorker: false,
        lazyLoad: false,
        liveBufferLatencyChasing: live,
        // Live: hand every chunk on at once (no stash) for low latency.
        enableStashBuffer: !live,
        autoCleanupSourceBuffer: true,
      },
    );
    player.on(mpegts.Events.ERROR, function (type, details, info) {
      if (!current()) return;
      var message = info && (info.msg || info.code) ? String(info.msg || info.code) : '';
      // mpegts.js stops loading after any error it reports: every one is fatal.
      reportError(type, details, true, message);
      if (live) restart('mpegts.js ' + type + ' ' + details);
    });
    player.on(mpegts.Events.LOADING_COMPLETE, function () {
      if (!current()) return;
      logEvent('loadingComplete');
      // A live stream does not complete: the server closed the connection. Reconnect.
      if (live) restart('live connection closed');
    });
    player.on(mpegts.Events.MEDIA_INFO, function (info) {
      if (!current()) return;
      logEvent('mediaInfo', { videoCodec: info && info.videoCodec, audioCodec: info && info.audioCodec });
    });
    player.attachMediaElement(video);
    player.load();
    return {
      destroy: function () {
        try {
          player.pause();
          player.unload();
          player.detachMediaElement();
        } finally {
          player.destroy();
        }
      },
    };
  }

  // ---- the media element -----------------------------------------------------------

  video.addEventListener('playing', function () {
    if (!state.ready) {
      state.ready = true;
      logEvent('ready', { currentTime: video.currentTime });
    }
  });
  video.addEventListener('timeupdate', function () {
    if (video.currentTime > lastAdvance.time + 0.001 || video.currentTime < lastAdvance.time - 1) {
      lastAdvance = { time: video.currentTime, at: Date.now() };
    }
    if (!state.ready && video.currentTime > 0) {
      state.ready = true;
      logEvent('ready', { currentTime: video.currentTime });
    }
  });
  video.addEventListener('error', function () {
    // Errors while a player is torn down (src removed) are not the stream's.
    if (!engine || pendingRestart || !video.error) return;
    var e = video.error;
    reportError('mediaElementError', 'MEDIA_ERR_' + e.code, true, e.message);
    if (state.type === 'hls' && state.engine === 'hls.js') return; // hls.js reports it too
    if (state.live) restart('media element error ' + e.code);
  });
  video.addEventListener('ended', function () {
    if (state.live && engine && !pendingRestart) restart('live stream ended');
  });

  setInterval(function () {
    render();
    // Watchdog: a live stream that has not advanced for a while gets a new player.
    if (state.live && state.ready && engine && !pendingRestart && !video.paused &&
        Date.now() - lastAdvance.at > STALL_RESTART_MS) {
      restart('stalled ' + Math.round((Date.now() - lastAdvance.at) / 1000) + ' s');
    }
  }, 250);

  // ---- main ------------------------------------------------------------------------

  var rawUrl = params.get('url');
  if (!rawUrl) {
    showPicker();
    return;
  }
  $('player').hidden = false;

  try {
    var url = new URL(rawUrl, location.href);
    var type = params.get('type') || typeOf(url.href);
    if (type !== 'hls' && type !== 'flv' && type !== 'ws') {
      throw new Error('cannot tell the stream type of ' + url.href + ': add &type=hls, flv or ws');
    }
    // WS-FLV asked for with an http(s) URL: same host and path over ws(s).
    if (type === 'ws' && (url.protocol === 'http:' || url.protocol === 'https:')) {
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    }
    state.type = type;
    state.url = url.href;
    state.live = params.get('live') !== '0';
  } catch (e) {
    reportError('setupError', 'badUrl', true, e.message);
    render();
    return;
  }
  $('source').textContent = state.url;
  document.title = 'Sluice player: ' + state.url;

  loadScript(state.type === 'hls' ? 'vendor/hls.min.js' : 'vendor/mpegts.js')
    .then(function () {
      start();
    })
    .catch(function (e) {
      reportError('setupError', 'startFailed', true, e.message);
    })
    .then(render);
})();
