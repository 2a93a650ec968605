// Fastn workflow prelude: the runtime API, console and timers of one run.
//
// Loaded as precompiled bytecode into every fresh QuickJS context before the
// workflow. Its top level only defines `globalThis.__fastnBoot`, which Python
// calls once and which deletes itself before any workflow code runs. All
// machinery (the operation queue, promise resolvers, logs, timers, the run's
// outcome) lives in boot()'s closure and is driven through the `control`
// function that only Python holds. Workflow code therefore cannot reach it:
//
// * no global entry point survives boot;
// * built-ins are captured before workflow code can patch them, internal lists
//   have no prototype and internal records are object literals, so prototype
//   setters cannot observe them;
// * `Error.prepareStackTrace` is locked to undefined: QuickJS's CallSite
//   objects hand out the function of every frame, which would leak `control`.
//
// Values cross to Python as JSON text only.
'use strict';

globalThis.__fastnBoot = function boot(configJson, ctxJson) {
  delete globalThis.__fastnBoot;

  // ---- built-ins, captured before workflow code exists -------------------
  const G = globalThis;
  const uncurry = (fn) => Function.prototype.call.bind(fn);
  const apply = Reflect.apply;
  const {
    create: objectCreate,
    defineProperty,
    freeze,
    getOwnPropertyDescriptor,
    getPrototypeOf,
    hasOwn,
    keys: objectKeys,
    setPrototypeOf,
  } = Object;
  const ObjectPrototype = Object.prototype;
  const { parse, stringify } = JSON;
  const { isArray } = Array;
  const arrayJoin = uncurry(Array.prototype.join);
  const stringSlice = uncurry(String.prototype.slice);
  const stringIndexOf = uncurry(String.prototype.indexOf);
  const stringReplaceAll = uncurry(String.prototype.replaceAll);
  const stringStartsWith = uncurry(String.prototype.startsWith);
  const functionToString = uncurry(Function.prototype.toString);
  const functionBind = Function.prototype.bind;
  const symbolToString = uncurry(Symbol.prototype.toString);
  const dateGetTime = uncurry(Date.prototype.getTime);
  const dateToISOString = uncurry(Date.prototype.toISOString);
  const regexpSource = uncurry(getOwnPropertyDescriptor(RegExp.prototype, 'source').get);
  const regexpFlags = uncurry(getOwnPropertyDescriptor(RegExp.prototype, 'flags').get);
  const PromiseCtor = Promise;
  const promiseThen = uncurry(Promise.prototype.then);
  const promiseResolveStatic = uncurry(Promise.resolve);
  const promiseRejectStatic = uncurry(Promise.reject);
  const resolved = (value) => promiseResolveStatic(PromiseCtor, value);
  const rejected = (error) => promiseRejectStatic(PromiseCtor, error);
  const MapCtor = Map;
  const mapGet = uncurry(Map.prototype.get);
  const mapSet = uncurry(Map.prototype.set);
  const mapDelete = uncurry(Map.prototype.delete);
  const mapForEach = uncurry(Map.prototype.forEach);
  const mapSize = uncurry(getOwnPropertyDescriptor(Map.prototype, 'size').get);
  const setForEach = uncurry(Set.prototype.forEach);
  const setSize = uncurry(getOwnPropertyDescriptor(Set.prototype, 'size').get);
  const TypedArrayPrototype = getPrototypeOf(Uint8Array.prototype);
  const typedArrayLength = uncurry(getOwnPropertyDescriptor(TypedArrayPrototype, 'length').get);
  const typedArrayName = uncurry(getOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag).get);
  const AsyncFunctionPrototype = getPrototypeOf(async function () {});
  const ProxyCtor = Proxy;
  const ErrorCtor = Error;
  const TypeErrorCtor = TypeError;
  const RangeErrorCtor = RangeError;
  const InternalErrorPrototype = G.InternalError.prototype;
  const captureStackTrace = Error.captureStackTrace;
  const isErrorValue = typeof Error.isError === 'function' ? Error.isError : (value) => value instanceof ErrorCtor;
  const builtinErrors = {
    __proto__: null,
    Error,
    TypeError,
    RangeError,
    ReferenceError,
    SyntaxError,
    EvalError,
    URIError,
  };
  const enqueueJob = G.queueMicrotask;
  const perfNow = performance.now.bind(performance);
  const { round: mathRound, min: mathMin } = Math;
  const numberIsFinite = Number.isFinite;
  const StringCtor = String;
  const NumberCtor = Number;
  const parseIntGlobal = parseInt;
  const parseFloatGlobal = parseFloat;

  const list = () => setPrototypeOf([], null);
  const push = (items, value) => {
    items[items.length] = value;
  };
  // Long concatenations are ropes in QuickJS-ng, which the Python binding
  // cannot convert ("Unknown quickjs tag: -6"); join() returns a flat string.
  const flat = (text) => {
    const parts = list();
    push(parts, text);
    return arrayJoin(parts, '');
  };
  const captureStack = (holder, above) => {
    apply(captureStackTrace, ErrorCtor, [holder, above]);
  };

  const config = parse(configJson);
  const t0 = perfNow();
  const now = () => perfNow() - t0;

  // ---- ctx: plain data; a copy, so nothing flows back to Python ---------
  const deepFreeze = (value) => {
    if (value !== null && typeof value === 'object') {
      freeze(value);
      const names = objectKeys(value);
      for (let i = 0; i < names.length; i++) deepFreeze(value[names[i]]);
    }
    return value;
  };
  const ctx = parse(ctxJson);
  {
    const names = objectKeys(ctx);
    for (let i = 0; i < names.length; i++) {
      if (names[i] !== 'input') deepFreeze(ctx[names[i]]); // input stays the author's to reshape
    }
    freeze(ctx);
  }

  // ---- formatting, close to Node's util.inspect on one line ---------------
  const MAX_ITEMS = 100;
  const MAX_DEPTH = 2;
  const MAX_NESTED_STRING = 10000;
  const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
  const regexpTest = uncurry(RegExp.prototype.test);

  const quote = (text) => {
    let body = text.length > MAX_NESTED_STRING ? stringSlice(text, 0, MAX_NESTED_STRING) : text;
    body = stringReplaceAll(stringReplaceAll(stringReplaceAll(body, '\\', '\\\\'), "'", "\\'"), '\n', '\\n');
    const more = text.length - MAX_NESTED_STRING;
    return "'" + body + "'" + (more > 0 ? '... ' + more + ' more characters' : '');
  };
  const safeString = (read, fallback) => {
    try {
      const value = read();
      return value === undefined || value === null ? fallback : StringCtor(value);
    } catch (error) {
      return fallback;
    }
  };
  const ownValue = (object, key) => {
    const descriptor = getOwnPropertyDescriptor(object, key);
    return descriptor !== undefined && hasOwn(descriptor, 'value') ? descriptor.value : undefined;
  };
  const brand = (check, value) => {
    try {
      check(value);
      return true;
    } catch (error) {
      return false;
    }
  };
  // QuickJS's memory-limit error; passed on untouched so Python reports `memory_limit`.
  const outOfMemory = (error) =>
    error !== null && typeof error === 'object' && getPrototypeOf(error) === InternalErrorPrototype &&
    ownValue(error, 'message') === 'out of memory';
  const formatNumber = (value) => (value === 0 && 1 / value < 0 ? '-0' : '' + value);
  const formatFunction = (fn) => {
    const name = ownValue(fn, 'name');
    const source = safeString(() => functionToString(fn), '');
    if (stringStartsWith(source, 'class')) return '[class ' + (name || '(anonymous)') + ']';
    const kind = getPrototypeOf(fn) === AsyncFunctionPrototype ? 'AsyncFunction' : 'Function';
    return '[' + kind + (name ? ': ' + name : ' (anonymous)') + ']';
  };
  const errorHeader = (error) => {
    const name = safeString(() => error.name, 'Error');
    const message = safeString(() => error.message, '');
    return message ? name + ': ' + message : name;
  };
  const formatError = (error, depth, seen) => {
    if (depth > 0) return '[' + errorHeader(error) + ']';
    const stack = safeString(() => error.stack, '');
    const frames = stack[stack.length - 1] === '\n' ? stringSlice(stack, 0, -1) : stack;
    let text = errorHeader(error) + (frames ? '\n' + frames : '');
    const extra = objectKeys(error);
    const parts = list();
    for (let i = 0; i < extra.length; i++) {
      if (extra[i] !== 'stack' && extra[i] !== 'message') {
        push(parts, formatKey(extra[i]) + ': ' + formatProperty(error, extra[i], depth, seen));
      }
    }
    if (parts.length) text += ' { ' + arrayJoin(parts, ', ') + ' }';
    return text;
  };
  const formatKey = (key) => (regexpTest(IDENTIFIER, key) ? key : quote(key));
  const formatProperty = (object, key, depth, seen) => {
    const descriptor = getOwnPropertyDescriptor(object, key);
    if (descriptor === undefined) return 'undefined';
    if (!hasOwn(descriptor, 'value')) {
      // Like Node: show accessors without running them.
      if (descriptor.get && descriptor.set) return '[Getter/Setter]';
      return descriptor.get ? '[Getter]' : '[Setter]';
    }
    return inspect(descriptor.value, depth + 1, seen);
  };
  const constructorName = (object) => {
    const prototype = getPrototypeOf(object);
    if (prototype === null) return '[Object: null prototype]';
    if (prototype === ObjectPrototype) return '';
    const ctor = ownValue(prototype, 'constructor');
    const name = typeof ctor === 'function' ? ownValue(ctor, 'name') : '';
    return typeof name === 'string' && name !== 'Object' ? name : '';
  };
  const braces = (prefix, open, parts, close) => {
    const body = parts.length ? open + ' ' + arrayJoin(parts, ', ') + ' ' + close : open + close;
    return prefix ? prefix + ' ' + body : body;
  };
  const formatObject = (object, depth, seen) => {
    for (let i = 0; i < seen.length; i++) if (seen[i] === object) return '[Circular]';
    if (isErrorValue(object)) return formatError(object, depth, seen);
    if (brand(dateGetTime, object)) {
      return numberIsFinite(dateGetTime(object)) ? dateToISOString(object) : 'Invalid Date';
    }
    if (brand(regexpSource, object)) return '/' + regexpSource(object) + '/' + regexpFlags(object);
    const array = isArray(object);
    if (depth > MAX_DEPTH) return array ? '[Array]' : '[Object]';
    push(seen, object);
    try {
      const parts = list();
      if (array || brand(typedArrayLength, object)) {
        const length = array ? object.length : typedArrayLength(object);
        const shown = mathMin(length, MAX_ITEMS);
        for (let i = 0; i < shown; i++) {
          push(parts, hasOwn(object, i) ? formatProperty(object, '' + i, depth, seen) : '<empty>');
        }
        if (length > shown) push(parts, '... ' + (length - shown) + ' more items');
        const prefix = array ? '' : typedArrayName(object) + '(' + length + ')';
        return braces(prefix, '[', parts, ']');
      }
      if (brand(mapSize, object)) {
        mapForEach(object, (value, key) => {
          if (parts.length < MAX_ITEMS) {
            push(parts, inspect(key, depth + 1, seen) + ' => ' + inspect(value, depth + 1, seen));
          }
        });
        return braces('Map(' + mapSize(object) + ')', '{', parts, '}');
      }
      if (brand(setSize, object)) {
        setForEach(object, (value) => {
          if (parts.length < MAX_ITEMS) push(parts, inspect(value, depth + 1, seen));
        });
        return braces('Set(' + setSize(object) + ')', '{', parts, '}');
      }
      const names = objectKeys(object);
      const shown = mathMin(names.length, MAX_ITEMS);
      for (let i = 0; i < shown; i++) {
        push(parts, formatKey(names[i]) + ': ' + formatProperty(object, names[i], depth, seen));
      }
      if (names.length > shown) push(parts, '... ' + (names.length - shown) + ' more properties');
      return braces(constructorName(object), '{', parts, '}');
    } finally {
      seen.length -= 1;
    }
  };
  const inspect = (value, depth, seen) => {
    switch (typeof value) {
      case 'string':
        return quote(value);
      case 'number':
        return formatNumber(value);
      case 'bigint':
        return '' + value + 'n';
      case 'boolean':
        return value ? 'true' : 'false';
      case 'undefined':
        return 'undefined';
      case 'symbol':
        return symbolToString(value);
      case 'function':
        return formatFunction(value);
    }
    if (value === null) return 'null';
    return formatObject(value, depth, seen);
  };
  // Top-level strings print bare, everything else inspected.
  const show = (value) => (typeof value === 'string' ? value : inspect(value, 0, list()));
  const formatDirective = (directive, value) => {
    switch (directive) {
      case 's':
        if (typeof value === 'string') return value;
        if (typeof value === 'bigint') return '' + value + 'n';
        if (typeof value === 'symbol') return symbolToString(value);
        return typeof value === 'object' && value !== null ? inspect(value, 1, list()) : show(value);
      case 'd':
      case 'i':
      case 'f': {
        if (typeof value === 'bigint') return '' + value + 'n';
        if (typeof value === 'symbol' || (typeof value === 'object' && value !== null)) return 'NaN';
        if (directive === 'd') return formatNumber(NumberCtor(value));
        return formatNumber(directive === 'i' ? parseIntGlobal(value) : parseFloatGlobal(value));
      }
      case 'j':
        try {
          return stringify(value);
        } catch (error) {
          return '[Circular]';
        }
      case 'o':
      case 'O':
        return inspect(value, 0, list());
      default:
        return ''; // %c: CSS, meaningless in a log
    }
  };
  const formatLogArguments = (args) => {
    const count = args.length;
    if (count === 0) return '';
    let next = 1;
    let text;
    const head = args[0];
    if (typeof head === 'string' && count > 1 && stringIndexOf(head, '%') >= 0) {
      text = '';
      let at = 0;
      for (let i = 0; i < head.length - 1; i++) {
        if (head[i] !== '%') continue;
        const directive = head[i + 1];
        if (directive === '%') {
          text += stringSlice(head, at, i) + '%';
        } else if (stringIndexOf('sdifjoOc', directive) >= 0 && next < count) {
          text += stringSlice(head, at, i) + formatDirective(directive, args[next++]);
        } else {
          continue;
        }
        i += 1;
        at = i + 1;
      }
      text += stringSlice(head, at);
    } else {
      text = show(head);
    }
    for (; next < count; next++) text += ' ' + show(args[next]);
    return text;
  };

  // ---- console: bounded log capture --------------------------------------
  // Limits are counted in UTF-16 units here (never more than UTF-8 bytes);
  // Python enforces the exact byte limit on what crosses.
  const logs = list();
  let logUnits = 0;
  let logsDropped = 0;
  let logsTruncated = false;
  const record = (level, args) => {
    if (logsTruncated) {
      logsDropped++;
      return;
    }
    if (logs.length >= config.maxLogLines) {
      logsTruncated = true;
      logsDropped++;
      return;
    }
    let message;
    try {
      message = formatLogArguments(args);
    } catch (error) {
      message = '[unprintable log message: ' + safeString(() => error.message, 'error') + ']';
    }
    const room = config.maxLogBytes - logUnits;
    if (message.length > room) {
      if (room <= 0) {
        logsTruncated = true;
        logsDropped++;
        return;
      }
      message = stringSlice(message, 0, room);
      logsTruncated = true;
    }
    logUnits += message.length;
    const ts = mathRound(config.originMs + now());
    push(logs, '{"level":"' + level + '","message":' + stringify(message) + ',"ts_ms":' + ts + '}');
  };
  const timers = new MapCtor();
  const counters = new MapCtor();
  const label = (value) => (value === undefined ? 'default' : StringCtor(value));
  const console = {
    log(...args) {
      record('log', args);
    },
    info(...args) {
      record('info', args);
    },
    warn(...args) {
      record('warn', args);
    },
    error(...args) {
      record('error', args);
    },
    debug(...args) {
      record('log', args);
    },
    trace(...args) {
      const holder = {};
      captureStack(holder, console.trace);
      record('log', ['Trace: ' + formatLogArguments(args) + '\n' + holder.stack]);
    },
    dir(value) {
      record('log', [value]);
    },
    assert(condition, ...args) {
      if (!condition) record('error', ['Assertion failed' + (args.length ? ': ' + formatLogArguments(args) : '')]);
    },
    time(name) {
      mapSet(timers, label(name), perfNow());
    },
    timeLog(name, ...args) {
      const started = mapGet(timers, label(name));
      if (started === undefined) return;
      const elapsed = (perfNow() - started).toFixed(3);
      record('log', [label(name) + ': ' + elapsed + 'ms ' + formatLogArguments(args)]);
    },
    timeEnd(name) {
      const started = mapGet(timers, label(name));
      if (started === undefined) return;
      mapDelete(timers, label(name));
      record('log', [label(name) + ': ' + (perfNow() - started).toFixed(3) + 'ms']);
    },
    count(name) {
      const count = (mapGet(counters, label(name)) || 0) + 1;
      mapSet(counters, label(name), count);
      record('log', [label(name) + ': ' + count]);
    },
    countReset(name) {
      mapDelete(counters, label(name));
    },
  };

  // ---- timers, fired by the Python loop on the wall clock -----------------
  // A due timer's callback is queued as a microtask, so it runs with no
  // prelude frame beneath it and an exception in it is uncaught, as in Node.
  const timerHeap = list(); // of {id, due, order, fn, args, every}; min-heap on (due, order)
  const liveTimers = new MapCtor(); // id → entry; clearTimeout removes, the heap forgets lazily
  let timerCount = 0;
  const earlier = (a, b) => a.due < b.due || (a.due === b.due && a.order < b.order);
  const heapPush = (entry) => {
    let at = timerHeap.length;
    push(timerHeap, entry);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!earlier(timerHeap[at], timerHeap[parent])) break;
      const swap = timerHeap[at];
      timerHeap[at] = timerHeap[parent];
      timerHeap[parent] = swap;
      at = parent;
    }
  };
  const heapPop = () => {
    const top = timerHeap[0];
    const last = timerHeap[timerHeap.length - 1];
    timerHeap.length -= 1;
    if (timerHeap.length) {
      timerHeap[0] = last;
      let at = 0;
      for (;;) {
        const left = 2 * at + 1;
        const right = left + 1;
        let smallest = at;
        if (left < timerHeap.length && earlier(timerHeap[left], timerHeap[smallest])) smallest = left;
        if (right < timerHeap.length && earlier(timerHeap[right], timerHeap[smallest])) smallest = right;
        if (smallest === at) break;
        const swap = timerHeap[at];
        timerHeap[at] = timerHeap[smallest];
        timerHeap[smallest] = swap;
        at = smallest;
      }
    }
    return top;
  };
  const liveTop = () => {
    while (timerHeap.length) {
      const top = timerHeap[0];
      if (mapGet(liveTimers, top.id) === top) return top;
      heapPop();
    }
    return undefined;
  };
  const addTimer = (fn, delay, args, repeat, api) => {
    if (typeof fn !== 'function') {
      const error = new TypeErrorCtor('The "callback" argument must be a function, not ' + describeType(fn));
      captureStack(error, api);
      throw error;
    }
    let ms = typeof delay === 'number' ? delay : typeof delay === 'string' ? NumberCtor(delay) : NaN;
    if (!(ms >= 1 && ms <= 2147483647)) ms = 1; // Node's rule
    const id = ++timerCount;
    const entry = { id, due: now() + ms, order: id, fn, args, every: repeat ? ms : 0 };
    mapSet(liveTimers, id, entry);
    heapPush(entry);
    return id;
  };
  const setTimeout = function setTimeout(fn, delay, ...args) {
    return addTimer(fn, delay, args, false, setTimeout);
  };
  const setInterval = function setInterval(fn, delay, ...args) {
    return addTimer(fn, delay, args, true, setInterval);
  };
  const clearTimeout = function clearTimeout(id) {
    mapDelete(liveTimers, id);
  };
  const fireTimer = () => {
    const top = liveTop();
    if (top === undefined || top.due > now()) return 0;
    heapPop();
    if (top.every) {
      top.due = now() + top.every;
      top.order = ++timerCount;
      heapPush(top);
    } else {
      mapDelete(liveTimers, top.id);
    }
    const bound = list();
    push(bound, undefined);
    for (let i = 0; i < top.args.length; i++) push(bound, top.args[i]);
    enqueueJob(apply(functionBind, top.fn, bound));
    return 1;
  };
  const msUntilNextTimer = () => {
    const top = liveTop();
    if (top === undefined) return -1;
    const wait = top.due - now();
    return wait > 0 ? wait : 0;
  };

  // ---- the runtime API: every call queues an operation for the host ------
  let opCount = 0;
  const queuedOps = list(); // JSON texts, handed to Python by poll()
  const waiting = new MapCtor(); // op id → {resolve, reject, site}

  const describeType = (value) => {
    if (value === null) return 'null';
    if (isArray(value)) return 'an array';
    const type = typeof value;
    return type === 'object' ? 'an object' : type === 'undefined' ? 'undefined' : 'a ' + type;
  };
  const apiError = (message, api) => {
    const error = new TypeErrorCtor(message);
    captureStack(error, api);
    return error;
  };
  // `api` is the function the workflow called: its frame and the prelude's
  // above it are left out of stack traces.
  const invoke = (name, args, api) => {
    let argsJson;
    try {
      argsJson = stringify(args);
    } catch (error) {
      if (outOfMemory(error)) return rejected(error);
      const reason = safeString(() => error.message, 'error');
      return rejected(apiError(name + ': arguments are not JSON-serialisable (' + reason + ')', api));
    }
    const site = {};
    captureStack(site, api);
    const id = ++opCount;
    push(queuedOps, '{"id":' + id + ',"name":"' + name + '","args":' + argsJson + '}');
    return new PromiseCtor((resolve, reject) => {
      mapSet(waiting, id, { resolve, reject, site });
    });
  };
  const requireText = (value, what, api) =>
    typeof value === 'string' && value.length > 0
      ? null
      : apiError(what + ' must be a non-empty string, not ' + describeType(value), api);

  const sql = (name, text, params, api) => {
    const problem = requireText(text, 'fastn.' + name + '(sql, params): sql', api);
    if (problem) return rejected(problem);
    if (params === undefined || params === null) params = [];
    if (!isArray(params)) {
      const usage = 'fastn.' + name + '(sql, params): params must be an array of values for $1, $2, …, not ';
      return rejected(apiError(usage + describeType(params), api));
    }
    return invoke(name, { sql: text, params }, api);
  };
  const db = freeze({
    query: function query(text, params) {
      return sql('db.query', text, params, query);
    },
    execute: function execute(text, params) {
      return sql('db.execute', text, params, execute);
    },
  });

  const scopeOf = (call, options, api) => {
    if (options === undefined || options === null) return 'ORG';
    if (typeof options !== 'object') {
      return apiError(call + ": options must be an object such as {scope: 'ORG'}, not " + describeType(options), api);
    }
    const scope = options.scope;
    if (scope === undefined) return 'ORG';
    if (scope === 'ORG' || scope === 'INVOCATION') return scope;
    const got = typeof scope === 'string' ? "'" + scope + "'" : describeType(scope);
    return apiError(call + ": options.scope must be 'ORG' or 'INVOCATION', not " + got, api);
  };
  const state = freeze({
    get: function get(key, options) {
      const problem = requireText(key, 'fastn.state.get(key, options): key', get);
      if (problem) return rejected(problem);
      const scope = scopeOf('fastn.state.get', options, get);
      if (typeof scope !== 'string') return rejected(scope);
      return invoke('state.get', { key, scope }, get);
    },
    set: function set(key, value, options) {
      const problem = requireText(key, 'fastn.state.set(key, value, options): key', set);
      if (problem) return rejected(problem);
      if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
        const hint = value === undefined ? ' (use fastn.state.delete to remove a key)' : '';
        const usage = 'fastn.state.set(key, value, options): value must be JSON data, not ';
        return rejected(apiError(usage + describeType(value) + hint, set));
      }
      const scope = scopeOf('fastn.state.set', options, set);
      if (typeof scope !== 'string') return rejected(scope);
      const ttl = options === undefined || options === null ? undefined : options.ttl;
      if (ttl === undefined || ttl === null) return invoke('state.set', { key, value, scope }, set);
      if (typeof ttl !== 'number' || !numberIsFinite(ttl) || ttl <= 0) {
        const got = typeof ttl === 'number' ? formatNumber(ttl) : describeType(ttl);
        const usage = 'fastn.state.set(key, value, options): options.ttl must be a positive number of seconds, not ';
        return rejected(apiError(usage + got, set));
      }
      return invoke('state.set', { key, value, scope, ttl }, set);
    },
    delete: function remove(key, options) {
      const problem = requireText(key, 'fastn.state.delete(key, options): key', remove);
      if (problem) return rejected(problem);
      const scope = scopeOf('fastn.state.delete', options, remove);
      if (typeof scope !== 'string') return rejected(scope);
      return invoke('state.delete', { key, scope }, remove);
    },
  });

  const secrets = freeze({
    get: function get(name) {
      const problem = requireText(name, 'fastn.secrets.get(name): name', get);
      if (problem) return rejected(problem);
      return invoke('secrets.get', { name }, get);
    },
  });

  const connectorCall = (slug, action, params, api) => {
    const usage = 'fastn.connector.call(connector, action, params): ';
    const problem = requireText(slug, usage + 'connector', api) || requireText(action, usage + 'action', api);
    if (problem) return rejected(problem);
    return invoke('connector.call', { connector: slug, action, params: params === undefined ? {} : params }, api);
  };
  const call = function call(slug, action, params) {
    return connectorCall(slug, action, params, call);
  };
  // `fastn.connector.<slug>.<action>(params)`: any names. `then` and
  // `toJSON` stay undefined so that awaiting or logging a proxy is harmless.
  const notAnAction = (key) => typeof key !== 'string' || key === 'then' || key === 'toJSON';
  const connectors = new MapCtor();
  const connectorFor = (slug) => {
    let proxy = mapGet(connectors, slug);
    if (proxy !== undefined) return proxy;
    const actions = new MapCtor();
    proxy = new ProxyCtor(freeze(objectCreate(null)), {
      __proto__: null,
      get(target, action) {
        if (notAnAction(action)) return undefined;
        let fn = mapGet(actions, action);
        if (fn === undefined) {
          const api = (params) => connectorCall(slug, action, params, api);
          defineProperty(api, 'name', { value: slug + '.' + action });
          fn = api;
          mapSet(actions, action, fn);
        }
        return fn;
      },
    });
    mapSet(connectors, slug, proxy);
    return proxy;
  };
  const connector = new ProxyCtor(freeze(objectCreate(null, { call: { value: call, enumerable: true } })), {
    __proto__: null,
    get(target, slug) {
      if (slug === 'call') return call;
      return notAnAction(slug) ? undefined : connectorFor(slug);
    },
  });

  const fastn = freeze({ db, state, secrets, connector });

  const hostError = (info, site) => {
    const name = typeof info.name === 'string' && info.name ? info.name : 'Error';
    const Ctor = builtinErrors[name] || ErrorCtor;
    const error = new Ctor(typeof info.message === 'string' ? info.message : 'Runtime call failed');
    if (Ctor === ErrorCtor && name !== 'Error') {
      defineProperty(error, 'name', { value: name, writable: true, configurable: true });
    }
    const extras = ['status', 'body', 'code'];
    for (let i = 0; i < extras.length; i++) {
      if (hasOwn(info, extras[i])) {
        const value = info[extras[i]];
        defineProperty(error, extras[i], { value, writable: true, enumerable: true, configurable: true });
      }
    }
    defineProperty(error, 'stack', { value: site.stack, writable: true, configurable: true });
    return error;
  };

  // ---- globals --------------------------------------------------------------
  const defineGlobal = (name, value) => {
    defineProperty(G, name, { value, writable: true, configurable: true, enumerable: false });
  };
  defineProperty(G, 'fastn', { value: fastn, writable: false, configurable: false, enumerable: false });
  defineGlobal('console', console);
  defineGlobal('setTimeout', setTimeout);
  defineGlobal('setInterval', setInterval);
  defineGlobal('clearTimeout', clearTimeout);
  defineGlobal('clearInterval', clearTimeout);
  defineGlobal('structuredClone', function structuredClone(value) {
    return value === undefined ? undefined : parse(stringify(value)); // JSON semantics, documented
  });
  const locked = { value: undefined, writable: false, configurable: false, enumerable: false };
  defineProperty(ErrorCtor, 'prepareStackTrace', locked);

  // The workflow's wrapper (see source.py) hands its function over once.
  let moduleFunction = null;
  defineProperty(G, '__fastnModule', {
    configurable: true,
    enumerable: false,
    set(fn) {
      delete G.__fastnModule;
      if (moduleFunction === null) moduleFunction = fn;
    },
  });

  // ---- the run ---------------------------------------------------------------
  const RUNNING = 0;
  const COMPLETED = 1;
  const FAILED = 2;
  let outcome = RUNNING;
  let outputJson = 'null';
  let failure = null;

  const describeFailure = (error, code) => {
    if (isErrorValue(error)) {
      return {
        name: safeString(() => error.name, 'Error'),
        message: safeString(() => error.message, ''),
        stack: safeString(() => error.stack, ''),
        code,
      };
    }
    return { name: 'Error', message: typeof error === 'string' ? error : show(error), stack: '', code };
  };
  const fail = (error, code) => {
    if (outcome !== RUNNING) return;
    outcome = FAILED;
    failure = describeFailure(error, code);
  };
  const outputReplacer = (key, value) => {
    const type = typeof value;
    if (type === 'function' || type === 'symbol' || type === 'bigint') {
      const where = key === '' ? 'the top level' : 'key "' + key + '"';
      throw new TypeErrorCtor('a ' + (type === 'bigint' ? 'BigInt' : type) + ' at ' + where);
    }
    return value;
  };
  const complete = (value) => {
    if (outcome !== RUNNING) return;
    let json;
    try {
      json = value === undefined ? 'null' : stringify(value, outputReplacer);
    } catch (error) {
      if (outOfMemory(error)) {
        fail(error, 'js_error');
        return;
      }
      const reason = safeString(() => error.message, 'error');
      const problem = new TypeErrorCtor('The workflow returned a value that is not JSON-serialisable: ' + reason);
      problem.stack = '';
      fail(problem, 'invalid_return');
      return;
    }
    if (json === undefined) json = 'null';
    if (json.length > config.maxOutputBytes) {
      const limit = config.maxOutputBytes;
      const problem = new RangeErrorCtor('The output is larger than the limit of ' + limit + ' bytes of JSON');
      problem.stack = '';
      fail(problem, 'output_too_large');
      return;
    }
    outcome = COMPLETED;
    outputJson = json;
  };
  // Settle the run with what the workflow's function returned. A native
  // promise is followed with the captured `then`, never adopted through a
  // `then` looked up at run time, which workflow code may have replaced.
  const settleWith = (value, code) => {
    try {
      promiseThen(value, complete, (error) => fail(error, code));
      return;
    } catch (notAPromise) {
      // fall through: a plain value or a workflow-made thenable
    }
    if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
      promiseThen(resolved(value), complete, (error) => fail(error, code));
    } else {
      complete(value);
    }
  };
  const start = () => {
    if (typeof moduleFunction !== 'function') {
      fail(new TypeErrorCtor('The workflow did not load'), 'invalid_workflow');
      return;
    }
    // Author code runs from promise jobs: top-level code first, then the
    // default export with ctx.
    const exportsObject = { d: undefined };
    const runMain = () => {
      const main = exportsObject.d;
      if (typeof main !== 'function') {
        const error = new TypeErrorCtor(
          'The default export must be a function, e.g. `export default async function (ctx) { … }`; got ' +
            describeType(main),
        );
        error.stack = '';
        fail(error, 'invalid_workflow');
        return;
      }
      let returned;
      try {
        returned = main(ctx);
      } catch (error) {
        fail(error, 'js_error');
        return;
      }
      settleWith(returned, 'js_error');
    };
    const runModule = () => {
      let loaded;
      try {
        loaded = moduleFunction(exportsObject);
      } catch (error) {
        fail(error, 'js_error');
        return;
      }
      promiseThen(loaded, runMain, (error) => fail(error, 'js_error'));
    };
    promiseThen(resolved(undefined), runModule);
  };
  const poll = () => {
    let ops = '';
    if (queuedOps.length) {
      ops = arrayJoin(queuedOps, ',');
      queuedOps.length = 0;
    }
    return flat('{"state":' + outcome + ',"timer":' + msUntilNextTimer() + ',"ops":[' + ops + ']}');
  };
  const settle = (payload) => {
    const results = parse(payload); // [[id, ok, value or error], …]
    for (let i = 0; i < results.length; i++) {
      const result = results[i];
      const entry = mapGet(waiting, result[0]);
      if (entry === undefined) continue;
      mapDelete(waiting, result[0]);
      if (result[1]) entry.resolve(result[2]);
      else entry.reject(hostError(result[2], entry.site));
    }
  };
  const finish = () =>
    flat(
      '{"state":' + outcome +
        ',"error":' + (failure === null ? 'null' : stringify(failure)) +
        ',"logs":[' + arrayJoin(logs, ',') + ']' +
        ',"logsTruncated":' + logsTruncated +
        ',"logsDropped":' + logsDropped +
        '}\n' + (outcome === COMPLETED ? outputJson : 'null'),
    );

  return function control(command, argument) {
    switch (command) {
      case 0:
        start();
        return '';
      case 1:
        return poll();
      case 2:
        settle(argument);
        return '';
      case 3:
        return fireTimer();
      case 4:
        return finish();
      default:
        throw new TypeErrorCtor('unknown command');
    }
  };
};
void 0;
