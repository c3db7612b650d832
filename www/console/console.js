/*
 * Sluice web console (index.html): reads the HTTP API every 2 s and shows the server, its
 * vhosts, streams and clients; kicks clients, asks for a config reload, and plays a stream
 * in the player page of this server (/players/, in an iframe).
 *
 * The API: ?api=http://HOST:PORT, else this host's port 1985, else this page's own origin
 * (the API may share http_server's port). A 401 shows a login form; the credentials are
 * then sent as Basic auth and kept in sessionStorage only.
 *
 * State, for tests (test/e2e/console.test.ts) and for users poking at the dev tools:
 *
 *   window.sluiceConsole = {
 *     ready: boolean,            // true once a whole refresh has succeeded
 *     api: string | null,        // the API base in use
 *     auth: 'none' | 'required' | 'ok',
 *     server,                    // the server id (envelope's "server")
 *     version, summary,          // /api/v1/versions and /summaries `data`
 *     vhosts, streams, clients,  // the lists of the last refresh (SRS's shapes)
 *     raw,                       // rpc=raw's http_api block, or null
 *     errors: [{ time, kind, message, status?, code? }],   // oldest first, at most 100
 *     refreshes: number,         // successful refreshes
 *     paused: boolean,           // not refreshing: the tab is hidden
 *     player: { stream, type, url } | null,
 *   }
 *
 * Plain browser JS: no modules, no build step, no framework. Everything shown comes from the
 * API and goes into the page with textContent only.
 */
(function () {
  'use strict';

  var REFRESH_MS = 2000;
  var KICK_REFRESH_MS = 300; // the close is asynchronous: look again shortly after a kick
  var MAX_ERRORS = 100;
  var DEFAULT_VHOST = '__defaultVhost__';
  var AUTH_KEY = 'sluice-console-auth ';

  /** SRS's error codes the API answers with (docs/api.md), in words. */
  var CODES = {
    1060: 'unknown raw API call',
    1061: 'raw API or allow_reload is off',
    2014: 'vhost not found',
    2048: 'stream not found',
    2049: 'client not found (already gone?)',
    4002: 'URL not clean',
    4058: 'bad JSONP callback',
  };

  var state = {
    ready: false,
    api: null,
    auth: 'none',
    server: null,
    version: null,
    summary: null,
    vhosts: [],
    streams: [],
    clients: [],
    raw: null,
    errors: [],
    refreshes: 0,
    paused: false,
    player: null,
  };
  window.sluiceConsole = state;

  var $ = function (id) {
    return document.getElementById(id);
  };
  var params = new URLSearchParams(location.search);

  // ---- errors and messages -----------------------------------------------------------

  function ApiError(kind, message, extra) {
    this.kind = kind; // 'network' | 'auth' | 'http' | 'code' | 'format'
    this.message = message;
    if (extra) for (var k in extra) this[k] = extra[k];
  }

  var refreshError = null; // the last refresh's error, until a refresh succeeds
  var actionError = null; // the last kick/reload/login error, until the next one succeeds

  function recordError(err, what) {
    var e = {
      time: Date.now(),
      kind: err instanceof ApiError ? err.kind : 'script',
      message: (what ? what + ': ' : '') + (err && err.message ? err.message : String(err)),
    };
    if (err && err.status !== undefined) e.status = err.status;
    if (err && err.code !== undefined) e.code = err.code;
    state.errors.push(e);
    if (state.errors.length > MAX_ERRORS) state.errors.splice(0, state.errors.length - MAX_ERRORS);
    var li = document.createElement('li');
    li.textContent = new Date(e.time).toLocaleTimeString() + ' ' + e.message;
    var list = $('errors');
    list.insertBefore(li, list.firstChild);
    while (list.childNodes.length > MAX_ERRORS) list.removeChild(list.lastChild);
    return e;
  }

  function showErrors() {
    var shown = [refreshError, actionError].filter(Boolean);
    var box = $('error');
    box.textContent = shown.map(function (e) {
      return e.message;
    }).join('\n');
    box.hidden = shown.length === 0;
  }

  function say(text) {
    $('status').textContent = text;
  }

  // ---- the API -----------------------------------------------------------------------

  var memoryToken = null; // when sessionStorage is unavailable

  function storedToken() {
    try {
      return sessionStorage.getItem(AUTH_KEY + state.api);
    } catch (e) {
      return memoryToken;
    }
  }

  function storeToken(token) {
    memoryToken = token;
    try {
      if (token === null) sessionStorage.removeItem(AUTH_KEY + state.api);
      else sessionStorage.setItem(AUTH_KEY + state.api, token);
    } catch (e) {
      // storage disabled: memoryToken lasts as long as the page
    }
    $('logout').hidden = token === null;
  }

  /** base64 of "user:password" in UTF-8 (RFC 7617). */
  function basicToken(user, password) {
    var bytes = new TextEncoder().encode(user + ':' + password);
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s);
  }

  /**
   * One API call: resolves with the JSON answer when its code is 0, rejects with an
   * ApiError otherwise. opts: method, base (default state.api), token (default stored).
   */
  function call(path, opts) {
    opts = opts || {};
    var base = opts.base || state.api;
    var token = opts.token !== undefined ? opts.token : storedToken();
    var headers = {};
    if (token) headers.Authorization = 'Basic ' + token;
    var url = base + path;
    // credentials 'omit': a 401 then reaches us instead of the browser's own login prompt
    // (shown for same-origin requests); the Authorization header is ours to send.
    var init = { method: opts.method || 'GET', headers: headers, cache: 'no-store', credentials: 'omit' };
    return fetch(url, init).then(
      function (r) {
        if (r.status === 401) {
          throw new ApiError('auth', path + ': 401 Unauthorized', { status: 401 });
        }
        return r.text().then(function (text) {
          if (!r.ok) throw new ApiError('http', path + ': HTTP ' + r.status + ' ' + r.statusText, { status: r.status });
          var json;
          try {
            json = JSON.parse(text);
          } catch (e) {
            throw new ApiError('format', path + ': not JSON (is ' + base + ' the API?)', { status: r.status });
          }
          if (!json || typeof json.code !== 'number') {
            throw new ApiError('format', path + ': no "code" in the answer (is ' + base + ' the API?)');
          }
          if (json.code !== 0) {
            throw new ApiError('code', path + ': code ' + json.code + (CODES[json.code] ? ' (' + CODES[json.code] + ')' : ''), {
              code: json.code,
            });
          }
          return json;
        });
      },
      function (e) {
        throw new ApiError('network', 'cannot reach ' + url + ' (server down, wrong address, or crossdomain off): ' +
          (e && e.message ? e.message : String(e)));
      },
    );
  }

  /** Where to look for the API, in order. */
  function candidates() {
    var given = params.get('api');
    if (given) return [given.replace(/\/+$/, '')];
    var list = [];
    if (location.protocol === 'http:' || location.protocol === 'https:') {
      list.push(location.protocol + '//' + location.hostname + ':1985');
      if (location.origin !== list[0]) list.push(location.origin);
    }
    return list;
  }

  /**
   * Finds the API: the first candidate that answers /api/v1/versions as the API does (or
   * with a 401: it wants credentials). Rejects with the last candidate's error.
   */
  function discover() {
    var list = candidates();
    var i = 0;
    var last = new ApiError('network', 'no API address to try: open the console with ?api=http://HOST:1985');
    function next() {
      if (i >= list.length) return Promise.reject(last);
      var base = list[i++];
      return call('/api/v1/versions', { base: base, token: null }).then(
        function () {
          return base;
        },
        function (e) {
          if (e.kind === 'auth') return base;
          last = e;
          return next();
        },
      );
    }
    return next();
  }

  // ---- refreshing --------------------------------------------------------------------

  var timer = null;
  var running = false;
  var again = false; // a refresh was asked for while one ran

  function refresh() {
    var find = state.api ? Promise.resolve(state.api) : discover();
    return find.then(function (base) {
      if (state.api !== base) {
        state.api = base;
        $('api-base').textContent = base;
        $('logout').hidden = storedToken() === null;
      }
      // rpc=raw is optional: an API without it (or refusing it) just has no Reload.
      var raw = call('/api/v1/raw?rpc=raw').catch(function (e) {
        if (e.kind === 'auth' || e.kind === 'network') throw e;
        return null;
      });
      return Promise.all([
        call('/api/v1/versions'),
        call('/api/v1/summaries'),
        call('/api/v1/vhosts/'),
        call('/api/v1/streams/?count=1000'),
        call('/api/v1/clients/?count=1000'),
        raw,
      ]);
    }).then(function (answers) {
      state.version = answers[0].data || null;
      state.summary = answers[1].data || null;
      state.vhosts = answers[2].vhosts || [];
      state.streams = answers[3].streams || [];
      state.clients = answers[4].clients || [];
      state.raw = answers[5] ? answers[5].http_api || null : null;
      state.server = answers[1].server || answers[0].server || null;
      if (state.auth === 'required') state.auth = 'ok';
      state.refreshes++;
      state.ready = true;
      refreshError = null;
      render();
    }, function (e) {
      if (e.kind === 'auth') {
        needLogin(storedToken() !== null ? 'The API refused the saved credentials: log in again.' : null);
        return;
      }
      refreshError = recordError(e);
      showErrors();
      $('content').classList.add('stale');
      $('refresh-state').textContent = 'last refresh failed at ' + new Date().toLocaleTimeString();
    });
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = null;
    state.paused = document.hidden;
    if (document.hidden || state.auth === 'required') return;
    timer = setTimeout(tick, ms);
  }

  function tick() {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    again = false;
    refresh().catch(function (e) {
      // A bug of ours, not the API's: shown like any error, and the loop goes on.
      refreshError = recordError(e, 'console');
      showErrors();
    }).then(function () {
      running = false;
      schedule(again ? 0 : REFRESH_MS);
    });
  }

  /** Refreshes in `ms` (0: now), sooner than the regular refresh. */
  function refreshSoon(ms) {
    if (running) {
      again = true;
      return;
    }
    schedule(ms || 0);
  }

  document.addEventListener('visibilitychange', function () {
    if (document.hidden) {
      schedule(0); // clears the timer: nothing runs while hidden
      $('refresh-state').textContent = 'paused while the tab is hidden';
    } else {
      refreshSoon(0);
    }
  });

  // ---- login -------------------------------------------------------------------------

  function needLogin(message) {
    state.auth = 'required';
    storeToken(null);
    clearTimeout(timer);
    timer = null;
    $('content').hidden = true;
    $('reload').hidden = true;
    refreshError = null;
    showErrors();
    $('login').hidden = false;
    // Say where the password goes: ?api= may point anywhere.
    $('login-api').textContent = state.api;
    showLoginError(message);
    say('The API asks for credentials.');
    $('refresh-state').textContent = '';
    if (!$('login').contains(document.activeElement)) $('login-user').focus();
  }

  function showLoginError(message) {
    var p = $('login-error');
    p.textContent = message || '';
    p.hidden = !message;
  }

  $('login').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var token = basicToken($('login-user').value, $('login-password').value);
    var button = $('login').querySelector('button');
    button.disabled = true;
    call('/api/v1/summaries', { token: token }).then(
      function () {
        storeToken(token);
        state.auth = 'ok';
        $('login').hidden = true;
        $('login-password').value = '';
        showLoginError(null);
        actionError = null;
        showErrors();
        say('Logged in.');
        refreshSoon(0);
      },
      function (e) {
        if (e.kind === 'auth') {
          recordError(e, 'login');
          showLoginError('Wrong user name or password.');
          $('login-password').select();
        } else {
          showLoginError(recordError(e, 'login').message);
        }
      },
    ).then(function () {
      button.disabled = false;
    });
  });

  $('logout').addEventListener('click', function () {
    closePlayer();
    needLogin(null);
    say('Logged out.');
  });

  // ---- actions -----------------------------------------------------------------------

  /** Runs an API action: its result in the status line, its error in the error box. */
  function act(what, promise, done) {
    return promise.then(
      function (json) {
        actionError = null;
        showErrors();
        done(json);
      },
      function (e) {
        if (e.kind === 'auth') {
          needLogin('The API refused the credentials: log in again.');
          return;
        }
        actionError = recordError(e, what);
        showErrors();
        say(what + ' failed.');
      },
    );
  }

  function kick(client) {
    var who = 'client ' + client.id + ' (' + client.type + ' from ' + client.ip + (client.name ? ', ' + client.name : '') + ')';
    if (!window.confirm('Kick ' + who + '?')) return;
    act('kick ' + who, call('/api/v1/clients/' + encodeURIComponent(client.id), { method: 'DELETE' }), function () {
      say('Kicked ' + who + '.');
      refreshSoon(KICK_REFRESH_MS);
    });
  }

  $('reload').addEventListener('click', function () {
    act('reload config', call('/api/v1/raw?rpc=reload'), function () {
      say('Reload requested at ' + new Date().toLocaleTimeString() +
        ': the server reloads its config file; the outcome is in its log ("reload: done").');
      refreshSoon(KICK_REFRESH_MS);
    });
  });

  // ---- the player --------------------------------------------------------------------

  /**
   * The stream's URLs with the default templates (hls_m3u8_file [app]/[stream].m3u8, mount
   * [vhost]/[app]/[stream].flv; the API does not say which are configured).
   */
  function streamUrls(s) {
    var vhost = byId.vhost[s.vhost];
    var vhostName = vhost ? vhost.name : DEFAULT_VHOST;
    var e = encodeURIComponent;
    var path = '/' + e(s.app) + '/' + e(s.name);
    var flv = (vhostName === DEFAULT_VHOST ? '' : '/' + e(vhostName)) + path + '.flv';
    return {
      hls: path + '.m3u8',
      flv: flv,
      ws: (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + flv,
    };
  }

  function openPlayer(s) {
    var vhost = byId.vhost[s.vhost];
    var hls = !!(vhost && vhost.hls && vhost.hls.enabled);
    state.player = { stream: s.id, name: s.app + '/' + s.name, urls: streamUrls(s), hls: hls, type: hls ? 'hls' : 'flv', url: null };
    showPlayer();
    $('player').scrollIntoView({ block: 'nearest' });
  }

  function showPlayer() {
    var p = state.player;
    var section = $('player');
    if (!p) {
      section.hidden = true;
      $('player-frame').src = 'about:blank';
      return;
    }
    p.url = p.urls[p.type];
    var page = '/players/?' + new URLSearchParams({ url: p.url }).toString();
    section.hidden = false;
    $('player-title').textContent = 'Player: ' + p.name;
    $('player-frame').title = 'Player of ' + p.name + ' (' + p.type + ')';
    $('player-url').textContent = p.url;
    $('player-link').href = page;
    section.querySelectorAll('input[name="player-type"]').forEach(function (r) {
      r.checked = r.value === p.type;
      var label = r.parentNode.lastChild;
      if (r.value === 'hls') label.textContent = p.hls ? ' HLS' : ' HLS (off for this vhost)';
    });
    // Same origin as the console (both on http_server): tests reach into the frame.
    var frame = $('player-frame');
    if (frame.getAttribute('src') !== page) frame.src = page;
  }

  function closePlayer() {
    state.player = null;
    showPlayer();
  }

  $('player-types').addEventListener('change', function (ev) {
    if (!state.player || ev.target.name !== 'player-type') return;
    state.player.type = ev.target.value;
    showPlayer();
  });
  $('player-close').addEventListener('click', closePlayer);

  // ---- formatting --------------------------------------------------------------------

  function duration(seconds) {
    if (typeof seconds !== 'number' || !isFinite(seconds)) return '-';
    var s = Math.floor(seconds);
    var d = Math.floor(s / 86400);
    var h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60);
    var pad = function (n) {
      return (n < 10 ? '0' : '') + n;
    };
    if (d > 0) return d + 'd ' + h + 'h ' + pad(m) + 'm';
    if (h > 0) return h + 'h ' + pad(m) + 'm ' + pad(s % 60) + 's';
    if (m > 0) return m + 'm ' + pad(s % 60) + 's';
    return s + 's';
  }

  function percent(fraction) {
    return typeof fraction === 'number' ? (fraction * 100).toFixed(1) + '%' : '-';
  }

  function num(n) {
    return typeof n === 'number' ? n.toLocaleString('en-US') : '-';
  }

  function size(kb) {
    if (typeof kb !== 'number') return '-';
    return kb >= 1024 * 1024 ? (kb / 1024 / 1024).toFixed(1) + ' GB' : (kb / 1024).toFixed(1) + ' MB';
  }

  function videoText(v) {
    if (!v) return '-';
    var size = v.width && v.height ? ' ' + v.width + '×' + v.height : '';
    return [v.codec, v.profile, v.level].filter(Boolean).join(' ') + size;
  }

  function audioText(a) {
    if (!a) return '-';
    var rate = a.sample_rate ? ' ' + a.sample_rate / 1000 + ' kHz' : '';
    var ch = a.channel === 1 ? ' mono' : a.channel === 2 ? ' stereo' : '';
    return [a.codec, a.profile].filter(Boolean).join(' ') + rate + ch;
  }

  function kbps(k, key) {
    return k ? num(k[key]) : '-';
  }

  // ---- rendering ---------------------------------------------------------------------

  /** The last refresh's items by id (vhost names, streams, clients), for the columns. */
  var byId = { vhost: {}, stream: {}, client: {} };

  function indexById(list) {
    var map = {};
    list.forEach(function (item) {
      map[item.id] = item;
    });
    return map;
  }

  /** The columns of each table: header, cell text, and whether it is a number. */
  var KBPS_IN = { label: 'In kbps', num: true, text: function (x) { return kbps(x.kbps, 'recv_30s'); } };
  var KBPS_OUT = { label: 'Out kbps', num: true, text: function (x) { return kbps(x.kbps, 'send_30s'); } };

  var VHOST_COLUMNS = [
    { label: 'Name', text: function (v) { return v.name; } },
    { label: 'Enabled', text: function (v) { return v.enabled ? 'yes' : 'no'; } },
    { label: 'Streams', num: true, text: function (v) { return num(v.streams); } },
    { label: 'Clients', num: true, text: function (v) { return num(v.clients); } },
    KBPS_IN,
    KBPS_OUT,
    {
      label: 'HLS',
      text: function (v) {
        if (!v.hls || !v.hls.enabled) return 'off';
        return 'on' + (typeof v.hls.fragment === 'number' ? ', ' + v.hls.fragment + ' s fragments' : '');
      },
    },
  ];

  var STREAM_COLUMNS = [
    { label: 'Stream', text: function (s) { return s.name; } },
    { label: 'Vhost', text: function (s) { return byId.vhost[s.vhost] ? byId.vhost[s.vhost].name : s.vhost; } },
    { label: 'App', text: function (s) { return s.app; } },
    { label: 'Clients', num: true, text: function (s) { return num(s.clients); } },
    KBPS_IN,
    KBPS_OUT,
    { label: 'Video', text: function (s) { return videoText(s.video); } },
    { label: 'Audio', text: function (s) { return audioText(s.audio); } },
    { label: 'Publishing', text: function (s) { return isPublished(s) ? 'yes' : 'no'; } },
    {
      label: 'Live for',
      text: function (s) {
        var pub = isPublished(s) ? byId.client[s.publish.cid] : null;
        return pub ? duration(pub.alive) : '-';
      },
    },
  ];

  var CLIENT_COLUMNS = [
    { label: 'ID', text: function (c) { return c.id; } },
    { label: 'IP', text: function (c) { return c.ip; } },
    { label: 'Type', text: function (c) { return c.type; } },
    {
      label: 'Stream',
      text: function (c) {
        var s = byId.stream[c.stream];
        return s ? s.app + '/' + s.name : c.url || '-';
      },
    },
    { label: 'Alive', text: function (c) { return duration(c.alive); } },
    KBPS_IN,
    KBPS_OUT,
  ];

  function isPublished(s) {
    return !!(s.publish && s.publish.active);
  }

  /**
   * Updates a table's rows in place, keyed by id, so that a button keeps its focus (and a
   * click in progress its target) across refreshes. The first column is the row header;
   * actions(td, item), when given, fills a last cell.
   */
  function renderTable(table, items, columns, actions) {
    if (!table.tHead) {
      var head = table.createTHead().insertRow();
      columns.forEach(function (c) {
        var th = document.createElement('th');
        th.scope = 'col';
        th.textContent = c.label;
        if (c.num) th.className = 'num';
        head.appendChild(th);
      });
      if (actions) {
        var th = head.appendChild(document.createElement('th'));
        th.scope = 'col';
        th.appendChild(document.createElement('span')).className = 'visually-hidden';
        th.firstChild.textContent = 'Actions';
      }
      table.createTBody();
    }
    var tbody = table.tBodies[0];
    var rows = {};
    for (var r = 0; r < tbody.rows.length; r++) rows[tbody.rows[r].dataset.id] = tbody.rows[r];
    items.forEach(function (item, index) {
      var tr = rows[item.id];
      delete rows[item.id];
      if (!tr) {
        tr = document.createElement('tr');
        tr.dataset.id = item.id;
        columns.forEach(function (c, i) {
          var cell = document.createElement(i === 0 ? 'th' : 'td');
          if (i === 0) cell.scope = 'row';
          if (c.num) cell.className = 'num';
          tr.appendChild(cell);
        });
        if (actions) tr.appendChild(document.createElement('td')).className = 'actions';
      }
      columns.forEach(function (c, i) {
        var text = c.text(item);
        if (tr.cells[i].textContent !== text) tr.cells[i].textContent = text;
      });
      if (actions) actions(tr.cells[columns.length], item);
      if (tbody.rows[index] !== tr) tbody.insertBefore(tr, tbody.rows[index] || null);
    });
    for (var id in rows) tbody.removeChild(rows[id]);
  }

  /** A button in `td` kept across refreshes (made once per `key`), or none. */
  function actionButton(td, key, label, aria, onClick) {
    if (td.dataset.key === key) return;
    td.dataset.key = key;
    td.textContent = '';
    if (!key) return;
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.setAttribute('aria-label', aria);
    b.addEventListener('click', onClick);
    td.appendChild(b);
  }

  /** A table with its count in the heading and its "none" line. */
  function renderList(name, items, columns, actions) {
    renderTable($(name), items, columns, actions);
    var count = $(name + '-count');
    if (count) count.textContent = '(' + items.length + ')';
    var empty = $(name + '-empty');
    if (empty) empty.hidden = items.length > 0;
  }

  function render() {
    $('content').hidden = false;
    $('content').classList.remove('stale');
    $('login').hidden = true;
    showErrors();
    renderServer();

    var raw = state.raw;
    $('reload').hidden = !(raw && raw.raw_api && raw.raw_api.enabled && raw.raw_api.allow_reload);

    byId = { vhost: indexById(state.vhosts), stream: indexById(state.streams), client: indexById(state.clients) };
    renderList('vhosts', state.vhosts, VHOST_COLUMNS);
    renderList('streams', state.streams, STREAM_COLUMNS, function (td, s) {
      actionButton(td, isPublished(s) ? 'play' : '', 'Play', 'Play ' + s.app + '/' + s.name, function () {
        openPlayer(byId.stream[s.id] || s);
      });
    });
    renderList('clients', state.clients, CLIENT_COLUMNS, function (td, c) {
      actionButton(td, 'kick', 'Kick', 'Kick client ' + c.id, function () {
        kick(byId.client[c.id] || c);
      });
    });

    if (state.player) {
      var playing = byId.stream[state.player.stream];
      $('player-title').textContent = 'Player: ' + state.player.name + (playing && isPublished(playing) ? '' : ' (not publishing now)');
    }
    $('refresh-state').textContent = 'updated ' + new Date().toLocaleTimeString() +
      (document.hidden ? ', paused while the tab is hidden' : ', every ' + REFRESH_MS / 1000 + ' s');
  }

  function renderServer() {
    var v = state.version || {};
    var sum = state.summary || {};
    var self = sum.self || {};
    var sys = sum.system || {};
    var set = function (id, text) {
      if ($(id).textContent !== text) $(id).textContent = text;
    };
    set('server-version', (v.version || '-') + (state.server ? ' (server ' + state.server + ')' : ''));
    set('server-pid', self.pid !== undefined ? String(self.pid) : '-');
    set('server-uptime', duration(self.srs_uptime));
    set('server-cpu', percent(self.cpu_percent) + ' of one core; system ' + percent(sys.cpu_percent) +
      (sys.cpus ? ' of ' + sys.cpus + ' CPUs' : ''));
    // mem_percent has two decimals (SRS's format): 0.00 below 0.5 %; work it out instead.
    var mem = self.mem_kbyte && sys.mem_ram_kbyte ? self.mem_kbyte / sys.mem_ram_kbyte : self.mem_percent;
    set('server-memory', size(self.mem_kbyte) + ' (' + percent(mem) + ' of ' + size(sys.mem_ram_kbyte) + ' RAM)');
    set('server-load', [sys.load_1m, sys.load_5m, sys.load_15m].map(function (l) {
      return typeof l === 'number' ? l.toFixed(2) : '-';
    }).join(' '));
    set('server-traffic', 'in ' + num(sys.srs_recv_kbps) + ' kbps, out ' + num(sys.srs_send_kbps) + ' kbps');
    set('server-clients', num(sys.conn_srs));
  }

  // ---- start -------------------------------------------------------------------------

  say('Connecting to the API...');
  $('api-base').textContent = candidates().join(' or ') || '-';
  tick();
})();
