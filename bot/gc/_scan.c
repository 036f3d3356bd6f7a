/* The parser's hot loop in C: bot/gc/parse.py's `parse_lines` over a `-m=2` log.
 *
 * Nearly every line of a `-m=2` log is read here, without a Python object of its own: the
 * `flow:`/`from` lines of the explanation being read (collected into its text exactly as
 * bot/gc/flows.py's `compact` makes it), explanation headers and escapes (made into the same
 * Header and Summary objects `LogParser._message` makes, stored into the package's Block as it
 * stores them), and the `inlining call to`, `can inline` and skipped messages. Every other line
 * -- package headers, events, anything odd or malformed -- is handed back to Python, which reads
 * it with the pure-Python path's own code; that path is the reference (tests/test_native_scan.py).
 *
 * Scanner(lines, skip_prefixes, skip_suffixes, kinds, Header, Summary)
 *   lines:   an iterator of str, each one line, or a Piece (bot/gc/events.py: a str subclass)
 *            of many, read as `filter(None, piece.splitlines())` without a str per line (a
 *            FramedPiece's `# ` lines dropped, as `LogParser.events` drops them);
 *            other objects are handed back as they are
 *   skip_*:  tuples of bytes: messages that are not escapes (bot/gc/lines.py)
 *   kinds:   ((marker bytes, is_suffix, Kind), ...) in `_message`'s order of checks
 *   Header, Summary: the classes of bot/gc/lines.py, called as `_message` calls them
 * Scanner.next(block, current) -> the next line for Python, or None at the end
 *   block:   the package's Block, or None outside a package
 *   current: block.current as Python left it (a header Python made starts an explanation)
 * Scanner.consumed: the lines read here (LogParser.lines counts the others).
 *
 * Lines are read as UTF-8 (str's own cache; `surrogatepass` for lone surrogates, which a
 * decoded JSON event can hold), so the text rebuilt from them is the text read.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "_slots.h"

typedef struct {
    const char *s;
    Py_ssize_t n;
} Piece;

typedef struct {
    PyObject_HEAD
    PyObject *it;
    PyObject *skips[2]; /* tuples of bytes: prefixes, suffixes */
    PyObject *kinds;    /* tuple of (bytes, bool, Kind) */
    PyObject *header_type, *summary_type;
    PyObject *current; /* the header whose explanation is read, or NULL */
    char *prefix;      /* `POS:  ` of its header line, NULL when it has none */
    Py_ssize_t prefix_len;
    char *buf; /* "\n" + each line, `POS: ` cut, without its newline */
    Py_ssize_t len, cap;
    int ended; /* -1 until a line is collected */
    PyObject *last; /* the line last handed back */
    Py_ssize_t consumed;
    PyObject *piece; /* the Piece being read, its UTF-8 (kept in piece_encoded for surrogates) */
    PyObject *piece_encoded;
    const char *piece_data;
    Py_ssize_t piece_len, piece_at;
    int piece_framed; /* its `# ` lines are dropped (bot/gc/events.py's FramedPiece) */
} Scanner;

/* The package's Block and its containers, for one call of `next`. */
typedef struct {
    PyObject *block, *headers, *summaries, *inlined_at, *decls;
} Target;

static PyObject *str_framed, *str_current, *str_text, *str_ended, *str_headers, *str_summaries,
    *str_inlined_at, *str_decls;

static const char INLINING[] = "inlining call to ";
static const char CAN[] = "can inline ";
static const char CANNOT[] = "cannot inline ";

static int starts(const char *s, Py_ssize_t n, const char *p, Py_ssize_t m) {
    return n >= m && memcmp(s, p, (size_t)m) == 0;
}

static int ends(const char *s, Py_ssize_t n, const char *p, Py_ssize_t m) {
    return n >= m && memcmp(s + n - m, p, (size_t)m) == 0;
}

static Py_ssize_t find_colon_space(const char *s, Py_ssize_t n) {
    const char *p = s;
    Py_ssize_t left = n;
    while (left >= 2) {
        const char *c = memchr(p, ':', (size_t)(left - 1));
        if (c == NULL) return -1;
        if (c[1] == ' ') return c - s;
        left -= (c - p) + 1;
        p = c + 1;
    }
    return -1;
}

static int matches(PyObject *patterns, const char *s, Py_ssize_t n, int suffix) {
    Py_ssize_t count = PyTuple_GET_SIZE(patterns);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *p = PyTuple_GET_ITEM(patterns, i);
        const char *ps = PyBytes_AS_STRING(p);
        Py_ssize_t pn = PyBytes_GET_SIZE(p);
        if (suffix ? ends(s, n, ps, pn) : starts(s, n, ps, pn)) return 1;
    }
    return 0;
}

/* str's UTF-8 (its own cache), or for lone surrogates an encoding kept in *encoded. */
static const char *utf8_of(PyObject *str, Py_ssize_t *n, PyObject **encoded) {
    const char *s = PyUnicode_AsUTF8AndSize(str, n);
    if (s != NULL) return s;
    PyErr_Clear();
    *encoded = PyUnicode_AsEncodedString(str, "utf-8", "surrogatepass");
    if (*encoded == NULL) return NULL;
    *n = PyBytes_GET_SIZE(*encoded);
    return PyBytes_AS_STRING(*encoded);
}

/* UTF-8 read back as text (`surrogatepass`: what utf8_of encoded so). */
static PyObject *decode(const char *s, Py_ssize_t n) {
    return PyUnicode_DecodeUTF8(s, n, "surrogatepass");
}

static int collect(Scanner *self, const char *s, Py_ssize_t n) {
    int newline = n > 0 && s[n - 1] == '\n';
    if (self->ended < 0) self->ended = newline;
    if (newline) n--;
    Py_ssize_t need = self->len + 1 + n;
    if (need > self->cap) {
        Py_ssize_t cap = self->cap ? self->cap : 4096;
        while (cap < need) cap *= 2;
        char *grown = PyMem_Realloc(self->buf, (size_t)cap);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        self->buf = grown;
        self->cap = cap;
    }
    self->buf[self->len++] = '\n';
    memcpy(self->buf + self->len, s, (size_t)n);
    self->len += n;
    return 0;
}

/* The text collected so far goes to the header: `text` (and `ended`) if it has none yet, else
   appended to it (Python may have given it lines of its own: bot/gc/parse.py's `_absorb`). */
static int flush(Scanner *self) {
    if (self->ended < 0 || self->current == NULL) {
        self->len = 0;
        self->ended = -1;
        return 0;
    }
    PyObject *text = decode(self->buf, self->len);
    if (text == NULL) return -1;
    int ended = self->ended;
    self->len = 0;
    self->ended = -1;
    PyObject *before = PyObject_GetAttr(self->current, str_text);
    if (before == NULL) {
        Py_DECREF(text);
        return -1;
    }
    int failed;
    if (before == Py_None) {
        failed = PyObject_SetAttr(self->current, str_text, text) < 0 ||
                 PyObject_SetAttr(self->current, str_ended, ended ? Py_True : Py_False) < 0;
    } else {
        PyObject *joined = PyUnicode_Concat(before, text);
        failed = joined == NULL || PyObject_SetAttr(self->current, str_text, joined) < 0;
        Py_XDECREF(joined);
    }
    Py_DECREF(before);
    Py_DECREF(text);
    return failed ? -1 : 0;
}

/* The explanation of `header` (NULL: none) is read from here on; `s[:idx]` is its `POS` (idx
   <= 0: none, its lines are told by their own `POS: `). */
static int begin(Scanner *self, PyObject *header, const char *s, Py_ssize_t idx) {
    if (flush(self) < 0) return -1;
    Py_XSETREF(self->current, Py_XNewRef(header));
    PyMem_Free(self->prefix);
    self->prefix = NULL;
    self->prefix_len = 0;
    if (header != NULL && idx > 0) {
        self->prefix = PyMem_Malloc((size_t)idx + 3);
        if (self->prefix == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(self->prefix, s, (size_t)idx);
        memcpy(self->prefix + idx, ":  ", 3);
        self->prefix_len = idx + 3;
    }
    return 0;
}

/* A header Python made: its explanation's `POS` is that of the line last handed back. */
static int begin_after_python(Scanner *self, PyObject *header) {
    if (header == NULL || self->last == NULL || !PyUnicode_Check(self->last)) return begin(self, header, NULL, 0);
    Py_ssize_t n;
    PyObject *encoded = NULL;
    const char *s = utf8_of(self->last, &n, &encoded);
    if (s == NULL) return -1;
    int result = begin(self, header, s, find_colon_space(s, n));
    Py_XDECREF(encoded);
    return result;
}

/* `_message` sets block.current to None before anything else: the explanation ends. */
static int end_explanation(Scanner *self, Target *t) {
    if (self->current == NULL) return 0;
    if (begin(self, NULL, NULL, 0) < 0) return -1;
    return PyObject_SetAttr(t->block, str_current, Py_None);
}

static int append_to(PyObject *dict, PyObject *key, PyObject *value) {
    PyObject *list = PyDict_GetItemWithError(dict, key);
    if (list == NULL) {
        if (PyErr_Occurred()) return -1;
        list = PyList_New(0);
        if (list == NULL) return -1;
        int failed = PyDict_SetItem(dict, key, list);
        Py_DECREF(list);
        if (failed) return -1;
    }
    return PyList_Append(list, value);
}

static int ascii_digits(const char *s, Py_ssize_t n) {
    if (n <= 0 || n > 18) return 0; /* longer ones: Python's int() decides */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
    }
    return 1;
}

static long long number(const char *s, Py_ssize_t n) {
    long long v = 0;
    for (Py_ssize_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

static const char *rfind(const char *s, Py_ssize_t n, char c) {
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        if (s[i] == c) return s + i;
    }
    return NULL;
}

static const char *find(const char *s, Py_ssize_t n, const char *p, Py_ssize_t m) {
    for (Py_ssize_t i = 0; i + m <= n; i++) {
        if (s[i] == p[0] && memcmp(s + i, p, (size_t)m) == 0) return s + i;
    }
    return NULL;
}

static const char *rfind_str(const char *s, Py_ssize_t n, const char *p, Py_ssize_t m) {
    for (Py_ssize_t i = n - m; i >= 0; i--) {
        if (s[i] == p[0] && memcmp(s + i, p, (size_t)m) == 0) return s + i;
    }
    return NULL;
}

/* bot/gc/lines.py's `parse_pos`, for ASCII digits: 1 and the parts, or 0 for Python to decide
   (not a position, or digits Python reads otherwise). */
static int parse_pos(const char *s, Py_ssize_t n, Py_ssize_t *file_len, long long *line, long long *column) {
    const char *colon = rfind(s, n, ':');
    if (colon == NULL || colon == s) return 0;
    const char *last = colon + 1;
    Py_ssize_t last_len = s + n - last;
    if (!ascii_digits(last, last_len)) return 0;
    Py_ssize_t head = colon - s;
    const char *mid_colon = rfind(s, head, ':');
    if (mid_colon != NULL && mid_colon != s) {
        const char *mid = mid_colon + 1;
        Py_ssize_t mid_len = colon - mid;
        if (ascii_digits(mid, mid_len)) {
            *file_len = mid_colon - s;
            *line = number(mid, mid_len);
            *column = number(last, last_len);
            return 1;
        }
        for (Py_ssize_t i = 0; i < mid_len; i++) {
            if ((unsigned char)mid[i] >= 0x80) return 0; /* maybe a digit to str.isdigit */
        }
        if (mid_len > 18) return 0;
    }
    *file_len = head;
    *line = number(last, last_len);
    *column = 0;
    return 1;
}

static PyObject *call(PyObject *type, PyObject **args, size_t nargs) {
    return PyObject_Vectorcall(type, args, nargs, NULL);
}

/* `POS: SUBJECT` of an escape kind: a Summary into the block. 1 made, 0 not an escape kind,
   2 an escape kind whose position Python reads (its `parse_pos` decides), -1 error. */
static int summary(Scanner *self, Target *t, const char *s, Py_ssize_t idx, const char *msg, Py_ssize_t m) {
    Py_ssize_t count = PyTuple_GET_SIZE(self->kinds);
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *entry = PyTuple_GET_ITEM(self->kinds, k);
        PyObject *marker = PyTuple_GET_ITEM(entry, 0);
        const char *ms = PyBytes_AS_STRING(marker);
        Py_ssize_t mn = PyBytes_GET_SIZE(marker);
        int suffix = PyTuple_GET_ITEM(entry, 1) == Py_True;
        if (!(suffix ? ends(msg, m, ms, mn) : starts(msg, m, ms, mn))) continue;
        Py_ssize_t file_len;
        long long line, column;
        if (!parse_pos(s, idx, &file_len, &line, &column)) return 2;
        if (end_explanation(self, t) < 0) return -1;
        const char *subject = suffix ? msg : msg + mn;
        PyObject *args[7] = {
            decode(s, idx), PyTuple_GET_ITEM(entry, 2), decode(s, file_len), PyLong_FromLongLong(line),
            PyLong_FromLongLong(column), decode(subject, m - mn), decode(msg, m),
        };
        PyObject *made = NULL;
        if (args[0] && args[2] && args[3] && args[4] && args[5] && args[6]) made = call(self->summary_type, args, 7);
        for (int i = 0; i < 7; i++) {
            if (i != 1) Py_XDECREF(args[i]);
        }
        if (made == NULL) return -1;
        int failed = PyList_Append(t->summaries, made);
        Py_DECREF(made);
        return failed ? -1 : 1;
    }
    return 0;
}

static const char ESCAPES[] = " escapes to heap";
static const char ESCAPES_IN[] = " escapes to heap in ";
static const char PARAMETER[] = "parameter ";
static const char LEAKS_TO[] = " leaks to ";
static const char DEREFS[] = " with derefs=";
static const char FOR[] = " for ";

/* bot/gc/lines.py's `_split_destination`: the function after the destination, or NULL. */
static const char *destination_function(const char *text, Py_ssize_t n, Py_ssize_t *len) {
    if (n > 0 && text[0] == '{') {
        Py_ssize_t depth = 0, i = 0;
        while (i >= 0) {
            depth += (text[i] == '{') - (text[i] == '}');
            if (depth == 0) {
                const char *rest = text + i + 1;
                Py_ssize_t rest_len = n - i - 1;
                if (!starts(rest, rest_len, FOR, sizeof FOR - 1)) return NULL;
                *len = rest_len - (Py_ssize_t)(sizeof FOR - 1);
                return rest + sizeof FOR - 1;
            }
            const char *open = memchr(text + i + 1, '{', (size_t)(n - i - 1));
            const char *close = memchr(text + i + 1, '}', (size_t)(n - i - 1));
            const char *next = open == NULL ? close : close == NULL ? open : (open < close ? open : close);
            i = next == NULL ? -1 : next - text;
        }
        return NULL;
    }
    const char *at = find(text, n, FOR, sizeof FOR - 1);
    if (at == NULL) return NULL;
    const char *func = at + sizeof FOR - 1;
    *len = text + n - func;
    return func;
}

/* `msg` ends with ':': an explanation's header (bot/gc/lines.py's `parse_header`) into the block,
   read from here on. 1 made, 0 for Python (not a header), -1 error. */
static int header(Scanner *self, Target *t, const char *s, Py_ssize_t idx, const char *msg, Py_ssize_t m) {
    const char *body = msg;
    Py_ssize_t b = m - 1;
    const char *subject, *func = NULL;
    Py_ssize_t subject_len, func_len = 0;
    int leak = 0;
    const char *leaks = starts(body, b, PARAMETER, sizeof PARAMETER - 1)
                            ? find(body, b, LEAKS_TO, sizeof LEAKS_TO - 1)
                            : NULL;
    if (leaks != NULL) {
        leak = 1;
        const char *rest = body + sizeof PARAMETER - 1;
        /* rest.partition(" leaks to "): the first one after `parameter ` */
        const char *sep = find(rest, body + b - rest, LEAKS_TO, sizeof LEAKS_TO - 1);
        subject = rest;
        subject_len = (sep == NULL ? body + b : sep) - rest;
        if (sep != NULL) { /* else `parameter leaks to x`: no destination, no function */
            const char *dst = sep + sizeof LEAKS_TO - 1;
            Py_ssize_t dst_len = body + b - dst;
            const char *derefs = rfind_str(dst, dst_len, DEREFS, sizeof DEREFS - 1);
            dst_len = derefs == NULL ? 0 : derefs - dst; /* rpartition: "" without it */
            func = destination_function(dst, dst_len, &func_len);
        }
    } else if (ends(body, b, ESCAPES, sizeof ESCAPES - 1)) {
        subject = body;
        subject_len = b - (Py_ssize_t)(sizeof ESCAPES - 1);
    } else {
        const char *sep = rfind_str(body, b, ESCAPES_IN, sizeof ESCAPES_IN - 1);
        if (sep == NULL) return 0;
        subject = body;
        subject_len = sep - body;
        func = sep + sizeof ESCAPES_IN - 1;
        func_len = body + b - func;
    }
    if (end_explanation(self, t) < 0) return -1;
    PyObject *args[3] = {leak ? Py_True : Py_False, decode(subject, subject_len), NULL};
    args[2] = func == NULL ? Py_NewRef(Py_None) : decode(func, func_len);
    PyObject *pos = decode(s, idx);
    PyObject *made = NULL;
    if (args[1] && args[2] && pos) made = call(self->header_type, args, 3);
    Py_XDECREF(args[1]);
    Py_XDECREF(args[2]);
    int failed = made == NULL || append_to(t->headers, pos, made) < 0 ||
                 PyObject_SetAttr(t->block, str_current, made) < 0 || begin(self, made, s, idx) < 0;
    Py_XDECREF(pos);
    Py_XDECREF(made);
    return failed ? -1 : 1;
}

/* 1: consumed, 0: for Python, -1: error. `s` is the line, `idx` its first `: `. */
static int message(Scanner *self, Target *t, const char *s, Py_ssize_t n, Py_ssize_t idx) {
    const char *msg = s + idx + 2;
    Py_ssize_t m = n - idx - 2;
    while (m > 0 && (msg[m - 1] == '\n' || msg[m - 1] == '\r')) m--;
    if (starts(msg, m, INLINING, sizeof INLINING - 1)) {
        if (end_explanation(self, t) < 0) return -1;
        PyObject *pos = decode(s, idx);
        if (pos == NULL) return -1;
        Py_ssize_t skip = sizeof INLINING - 1;
        PyObject *callee = decode(msg + skip, m - skip);
        int failed = callee == NULL || append_to(t->inlined_at, pos, callee) < 0;
        Py_DECREF(pos);
        Py_XDECREF(callee);
        return failed ? -1 : 1;
    }
    if (m > 0 && msg[m - 1] == ':') return header(self, t, s, idx, msg, m);
    int made = summary(self, t, s, idx, msg, m);
    if (made != 0) return made == 2 ? 0 : made;
    if (starts(msg, m, CAN, sizeof CAN - 1) || starts(msg, m, CANNOT, sizeof CANNOT - 1)) {
        /* msg.split(" ", 3)[2].removesuffix(":") */
        const char *first = memchr(msg, ' ', (size_t)m);
        const char *second = memchr(first + 1, ' ', (size_t)(m - (first + 1 - msg)));
        if (second == NULL) return 0; /* fewer than three words: Python's path decides */
        const char *word = second + 1;
        const char *stop = memchr(word, ' ', (size_t)(m - (word - msg)));
        Py_ssize_t w = (stop ? stop : msg + m) - word;
        if (w > 0 && word[w - 1] == ':') w--;
        if (end_explanation(self, t) < 0) return -1;
        PyObject *pos = decode(s, idx);
        if (pos == NULL) return -1;
        PyObject *name = decode(word, w);
        if (name == NULL) {
            Py_DECREF(pos);
            return -1;
        }
        PyObject *pair = PyTuple_Pack(2, pos, name);
        Py_DECREF(pos);
        Py_DECREF(name);
        if (pair == NULL) return -1;
        int failed = PyList_Append(t->decls, pair);
        Py_DECREF(pair);
        return failed ? -1 : 1;
    }
    if (matches(self->skips[0], msg, m, 0) || matches(self->skips[1], msg, m, 1)) {
        return end_explanation(self, t) < 0 ? -1 : 1;
    }
    return 0;
}

/* 1: consumed, 0: for Python, -1: error. */
static int read_line(Scanner *self, Target *t, const char *s, Py_ssize_t n) {
    Py_ssize_t idx = -2;
    if (self->current != NULL) {
        /* as parse_lines: a line with the header's `POS:  `, then any `P: ` followed by a
           space (cut there), then, as `_feed` does, a line starting with a space (whole) */
        if (self->prefix != NULL && starts(s, n, self->prefix, self->prefix_len)) {
            return collect(self, s + self->prefix_len - 1, n - self->prefix_len + 1) < 0 ? -1 : 1;
        }
        idx = find_colon_space(s, n);
        if (idx > 0 && idx + 2 < n && s[idx + 2] == ' ') {
            return collect(self, s + idx + 2, n - idx - 2) < 0 ? -1 : 1;
        }
        if (n > 0 && s[0] == ' ') return collect(self, s, n) < 0 ? -1 : 1;
    }
    if (t->block == NULL || n == 0 || s[0] == '{' || s[0] == '#' || s[0] == ' ') return 0;
    if (idx == -2) idx = find_colon_space(s, n);
    if (idx < 0 || (idx + 2 < n && s[idx + 2] == ' ')) return 0;
    return message(self, t, s, n, idx);
}

static void release(Target *t) {
    Py_CLEAR(t->headers);
    Py_CLEAR(t->summaries);
    Py_CLEAR(t->inlined_at);
    Py_CLEAR(t->decls);
}

static int target(Target *t, PyObject *block) {
    memset(t, 0, sizeof *t);
    if (block == Py_None) return 0;
    t->block = block;
    t->headers = PyObject_GetAttr(block, str_headers);
    t->summaries = PyObject_GetAttr(block, str_summaries);
    t->inlined_at = PyObject_GetAttr(block, str_inlined_at);
    t->decls = PyObject_GetAttr(block, str_decls);
    if (t->headers == NULL || t->summaries == NULL || t->inlined_at == NULL || t->decls == NULL) {
        release(t);
        return -1;
    }
    if (!PyDict_Check(t->headers) || !PyDict_Check(t->inlined_at) || !PyList_Check(t->summaries) ||
        !PyList_Check(t->decls)) {
        release(t);
        PyErr_SetString(PyExc_TypeError, "next: not a Block (headers, summaries, inlined_at, decls)");
        return -1;
    }
    return 0;
}

static PyObject *hand_back(Scanner *self, PyObject *line) {
    if (flush(self) < 0) return NULL;
    if (line != Py_None) Py_XSETREF(self->last, Py_NewRef(line));
    return Py_NewRef(line);
}

/* Bytes that may end a line in str.splitlines' sense (\n \r \v \f \x1c-\x1e; \x85, \u2028 and
   \u2029 start with \xc2 / \xe2 in UTF-8). */
static unsigned char BOUNDARY[256];

/* The next non-empty line of `base[:len]` from *at on (`filter(None, piece.splitlines())`). */
static int next_segment(const char *base, Py_ssize_t len, Py_ssize_t *at, const char **s, Py_ssize_t *n) {
    const char *end = base + len;
    while (*at < len) {
        const char *p = base + *at, *q = p;
        Py_ssize_t boundary = 0;
        for (; q < end; q++) {
            unsigned char c = (unsigned char)*q;
            if (!BOUNDARY[c]) continue;
            if (c == '\r') {
                boundary = q + 1 < end && q[1] == '\n' ? 2 : 1;
            } else if (c == 0xc2) {
                if (q + 1 >= end || (unsigned char)q[1] != 0x85) continue;
                boundary = 2;
            } else if (c == 0xe2) {
                if (q + 2 >= end || (unsigned char)q[1] != 0x80 || ((unsigned char)q[2] | 1) != 0xa9) continue;
                boundary = 3;
            } else {
                boundary = 1;
            }
            break;
        }
        *at = (q - base) + boundary;
        if (q > p) {
            *s = p;
            *n = q - p;
            return 1;
        }
    }
    return 0;
}

static PyObject *Scanner_next(Scanner *self, PyObject *args) {
    PyObject *block, *current;
    if (!PyArg_ParseTuple(args, "OO:next", &block, &current)) return NULL;
    PyObject *header = current == Py_None ? NULL : current;
    if (header != self->current && begin_after_python(self, header) < 0) return NULL;
    if (self->it == NULL) return hand_back(self, Py_None);
    Target t;
    if (target(&t, block) < 0) return NULL;
    PyObject *out = NULL;
    for (;;) {
        const char *s;
        Py_ssize_t n;
        PyObject *line = NULL, *encoded = NULL;
        if (self->piece != NULL) {
            if (!next_segment(self->piece_data, self->piece_len, &self->piece_at, &s, &n)) {
                Py_CLEAR(self->piece);
                Py_CLEAR(self->piece_encoded);
                continue;
            }
            if (self->piece_framed && n >= 2 && s[0] == '#' && s[1] == ' ') {
                self->consumed++; /* the framing named the package: counted, not read */
                continue;
            }
        } else {
            line = PyIter_Next(self->it);
            if (line == NULL) {
                if (!PyErr_Occurred()) {
                    Py_CLEAR(self->it);
                    out = hand_back(self, Py_None);
                }
                break;
            }
            if (!PyUnicode_Check(line)) {
                out = hand_back(self, line);
                Py_DECREF(line);
                break;
            }
            if (!PyUnicode_CheckExact(line)) { /* a Piece: many lines, read without a str each */
                const char *data = utf8_of(line, &self->piece_len, &self->piece_encoded);
                if (data == NULL) {
                    Py_DECREF(line);
                    break;
                }
                PyObject *framed = PyObject_GetAttr(line, str_framed);
                self->piece_framed = framed == NULL ? -1 : PyObject_IsTrue(framed);
                Py_XDECREF(framed);
                if (self->piece_framed < 0) {
                    Py_CLEAR(self->piece_encoded);
                    Py_DECREF(line);
                    break;
                }
                self->piece = line;
                self->piece_data = data;
                self->piece_at = 0;
                continue;
            }
            s = utf8_of(line, &n, &encoded);
            if (s == NULL) {
                Py_DECREF(line);
                break;
            }
        }
        int read = read_line(self, &t, s, n);
        if (read == 0 && line == NULL) { /* a piece's line goes to Python as its own str */
            line = decode(s, n);
            if (line == NULL) read = -1;
        }
        Py_XDECREF(encoded);
        if (read > 0) {
            Py_XDECREF(line);
            self->consumed++;
            continue;
        }
        if (read == 0) out = hand_back(self, line);
        Py_XDECREF(line);
        break;
    }
    release(&t);
    return out;
}

/* count_lines(text): len(list(filter(None, text.splitlines()))), without the lines. */
static PyObject *count_lines(PyObject *module, PyObject *text) {
    (void)module;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "count_lines: a str");
        return NULL;
    }
    PyObject *encoded = NULL;
    Py_ssize_t len, at = 0, count = 0, n;
    const char *data = utf8_of(text, &len, &encoded), *s;
    if (data == NULL) return NULL;
    while (next_segment(data, len, &at, &s, &n)) count++;
    Py_XDECREF(encoded);
    return PyLong_FromSsize_t(count);
}

static PyMethodDef module_methods[] = {
    {"count_lines", (PyCFunction)count_lines, METH_O, "len(list(filter(None, text.splitlines())))"},
    {NULL, NULL, 0, NULL},
};

static int check_patterns(PyObject *patterns) {
    if (!PyTuple_Check(patterns)) {
        PyErr_SetString(PyExc_TypeError, "Scanner: patterns must be tuples of bytes");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(patterns); i++) {
        if (!PyBytes_Check(PyTuple_GET_ITEM(patterns, i))) {
            PyErr_SetString(PyExc_TypeError, "Scanner: patterns must be tuples of bytes");
            return -1;
        }
    }
    return 0;
}

static int check_kinds(PyObject *kinds) {
    if (PyTuple_Check(kinds)) {
        Py_ssize_t i = 0;
        for (; i < PyTuple_GET_SIZE(kinds); i++) {
            PyObject *e = PyTuple_GET_ITEM(kinds, i);
            if (!PyTuple_Check(e) || PyTuple_GET_SIZE(e) != 3 || !PyBytes_Check(PyTuple_GET_ITEM(e, 0)) ||
                PyBytes_GET_SIZE(PyTuple_GET_ITEM(e, 0)) == 0 || !PyBool_Check(PyTuple_GET_ITEM(e, 1))) {
                break;
            }
        }
        if (i == PyTuple_GET_SIZE(kinds)) return 0;
    }
    PyErr_SetString(PyExc_TypeError, "Scanner: kinds must be ((bytes, bool, Kind), ...)");
    return -1;
}

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwds) {
    PyObject *lines, *prefixes, *suffixes, *kinds, *header_type, *summary_type;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Scanner takes positional arguments only");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "OOOOOO:Scanner", &lines, &prefixes, &suffixes, &kinds, &header_type,
                          &summary_type)) {
        return -1;
    }
    if (check_patterns(prefixes) < 0 || check_patterns(suffixes) < 0 || check_kinds(kinds) < 0) return -1;
    if (!PyCallable_Check(header_type) || !PyCallable_Check(summary_type)) {
        PyErr_SetString(PyExc_TypeError, "Scanner: Header and Summary must be callable");
        return -1;
    }
    PyObject *it = PyObject_GetIter(lines);
    if (it == NULL) return -1;
    Py_XSETREF(self->it, it);
    Py_XSETREF(self->skips[0], Py_NewRef(prefixes));
    Py_XSETREF(self->skips[1], Py_NewRef(suffixes));
    Py_XSETREF(self->kinds, Py_NewRef(kinds));
    Py_XSETREF(self->header_type, Py_NewRef(header_type));
    Py_XSETREF(self->summary_type, Py_NewRef(summary_type));
    Py_CLEAR(self->current);
    Py_CLEAR(self->piece);
    Py_CLEAR(self->piece_encoded);
    self->len = 0;
    self->ended = -1;
    self->consumed = 0;
    return 0;
}

static void Scanner_dealloc(Scanner *self) {
    Py_XDECREF(self->it);
    Py_XDECREF(self->skips[0]);
    Py_XDECREF(self->skips[1]);
    Py_XDECREF(self->kinds);
    Py_XDECREF(self->header_type);
    Py_XDECREF(self->summary_type);
    Py_XDECREF(self->current);
    Py_XDECREF(self->last);
    Py_XDECREF(self->piece);
    Py_XDECREF(self->piece_encoded);
    PyMem_Free(self->prefix);
    PyMem_Free(self->buf);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Scanner_consumed(Scanner *self, void *closure) {
    (void)closure;
    return PyLong_FromSsize_t(self->consumed);
}

static PyMethodDef Scanner_methods[] = {
    {"next", (PyCFunction)Scanner_next, METH_VARARGS, "next(block, current) -> the next line for Python, or None"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Scanner_getset[] = {
    {"consumed", (getter)Scanner_consumed, NULL, "lines read here, not handed back", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bot.gc._scan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The -m=2 parser's hot loop: the lines of a log read in C, odd ones handed back.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
    .tp_getset = Scanner_getset,
};


/* ---- Maker: a slotted dataclass's instances, made without its Python __init__ ------------ */

/* Maker(cls, fields): calling it with the leading fields' values makes an instance of `cls`
 * whose slots are set as the dataclass's generated __init__ sets them (the rest from their
 * defaults or default factories); fields: ((name, 0 | 1 | 2, default), ...), 0 given, 1 a
 * default value, 2 a default factory. The scanner makes 140 k headers and escapes for the
 * standard library, and the generated __init__ (a Python call, a STORE_ATTR per field) costs
 * more than the rest of their line's reading. Only for classes whose fields are exactly their
 * slots, with no __post_init__ (checked here). */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *cls;
    Py_ssize_t count, required;
    Py_ssize_t *offset;
    int *how;
    PyObject **value;
} Maker;

static void Maker_dealloc(Maker *self) {
    for (Py_ssize_t i = 0; self->value != NULL && i < self->count; i++) Py_XDECREF(self->value[i]);
    PyMem_Free(self->offset);
    PyMem_Free(self->how);
    PyMem_Free(self->value);
    Py_XDECREF(self->cls);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int maker_field(Maker *self, Py_ssize_t i, PyObject *spec) {
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) != 3 || !PyUnicode_Check(PyTuple_GET_ITEM(spec, 0)) ||
        !PyLong_Check(PyTuple_GET_ITEM(spec, 1))) {
        PyErr_SetString(PyExc_TypeError, "Maker: fields must be ((name, 0 | 1 | 2, default), ...)");
        return -1;
    }
    long how = PyLong_AsLong(PyTuple_GET_ITEM(spec, 1));
    if (how < 0 || how > 2 || (how == 0 && i != self->required) || (how == 2 && !PyCallable_Check(PyTuple_GET_ITEM(spec, 2)))) {
        PyErr_SetString(PyExc_TypeError, "Maker: given fields first, then defaults (a factory is callable)");
        return -1;
    }
    if (how == 0) self->required++;
    const char *name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(spec, 0));
    int slot = name == NULL ? -1 : slot_offset((PyObject *)self->cls, name, &self->offset[i]);
    if (slot < 0) return -1;
    if (!slot) {
        PyErr_Format(PyExc_TypeError, "Maker: %R is not a writable slot of %R", PyTuple_GET_ITEM(spec, 0), self->cls);
        return -1;
    }
    self->how[i] = (int)how;
    self->value[i] = Py_NewRef(PyTuple_GET_ITEM(spec, 2));
    return 0;
}

static int Maker_init(Maker *self, PyObject *args, PyObject *kwds) {
    PyObject *cls, *fields;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Maker takes positional arguments only");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "O!O!:Maker", &PyType_Type, &cls, &PyTuple_Type, &fields)) return -1;
    if (self->cls != NULL) {
        PyErr_SetString(PyExc_TypeError, "Maker: made once");
        return -1;
    }
    PyObject *slots = PyObject_GetAttrString(cls, "__slots__");
    if (slots == NULL) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Format(PyExc_TypeError, "Maker: %R has no slots", cls);
        }
        return -1;
    }
    Py_ssize_t n_slots = PySequence_Size(slots);
    Py_DECREF(slots);
    if (n_slots < 0) return -1;
    if (PyObject_HasAttrString(cls, "__post_init__") || n_slots != PyTuple_GET_SIZE(fields)) {
        PyErr_Format(PyExc_TypeError, "Maker: %R's fields are not exactly its slots, or it has a __post_init__", cls);
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(fields);
    self->cls = (PyTypeObject *)Py_NewRef(cls);
    self->offset = PyMem_Calloc((size_t)n + 1, sizeof *self->offset);
    self->how = PyMem_Calloc((size_t)n + 1, sizeof *self->how);
    self->value = PyMem_Calloc((size_t)n + 1, sizeof *self->value);
    if (self->offset == NULL || self->how == NULL || self->value == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        self->count = i + 1;
        if (maker_field(self, i, PyTuple_GET_ITEM(fields, i)) < 0) return -1;
    }
    self->count = n;
    return 0;
}

static PyObject *Maker_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Maker *self = (Maker *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (self->cls == NULL || kwnames != NULL || nargs < self->required || nargs > self->count) {
        PyErr_SetString(PyExc_TypeError, "Maker: the leading fields' values, positionally");
        return NULL;
    }
    PyObject *obj = self->cls->tp_alloc(self->cls, 0);
    if (obj == NULL) return NULL;
    for (Py_ssize_t i = 0; i < self->count; i++) {
        PyObject *v;
        if (i < nargs) {
            v = Py_NewRef(args[i]);
        } else if (self->how[i] == 2) {
            v = PyObject_CallNoArgs(self->value[i]);
            if (v == NULL) {
                Py_DECREF(obj);
                return NULL;
            }
        } else {
            v = Py_NewRef(self->value[i]);
        }
        *(PyObject **)((char *)obj + self->offset[i]) = v;
    }
    return obj;
}

static PyObject *Maker_call(PyObject *callable, PyObject *args, PyObject *kwargs) {
    if (kwargs != NULL && PyDict_GET_SIZE(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "Maker: the leading fields' values, positionally");
        return NULL;
    }
    return Maker_vectorcall(callable, &PyTuple_GET_ITEM(args, 0), (size_t)PyTuple_GET_SIZE(args), NULL);
}

static PyObject *Maker_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    (void)args;
    (void)kwds;
    Maker *self = (Maker *)type->tp_alloc(type, 0); /* zeroed: no class until __init__ */
    if (self != NULL) self->vectorcall = Maker_vectorcall;
    return (PyObject *)self;
}

static PyTypeObject MakerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bot.gc._scan.Maker",
    .tp_basicsize = sizeof(Maker),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Makes a slotted dataclass's instances without its Python __init__.",
    .tp_new = Maker_new,
    .tp_init = (initproc)Maker_init,
    .tp_dealloc = (destructor)Maker_dealloc,
    .tp_call = Maker_call,
    .tp_vectorcall_offset = offsetof(Maker, vectorcall),
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT, "_scan", "The -m=2 parser's hot loop in C (bot/gc/parse.py).", -1, module_methods,
};

static PyObject *intern(const char *s) {
    return PyUnicode_InternFromString(s);
}

PyMODINIT_FUNC PyInit__scan(void) {
    str_framed = intern("framed");
    str_current = intern("current");
    str_text = intern("text");
    str_ended = intern("ended");
    str_headers = intern("headers");
    str_summaries = intern("summaries");
    str_inlined_at = intern("inlined_at");
    str_decls = intern("decls");
    if (!str_framed || !str_current || !str_text || !str_ended || !str_headers || !str_summaries || !str_inlined_at ||
        !str_decls) {
        return NULL;
    }
    if (PyType_Ready(&ScannerType) < 0 || PyType_Ready(&MakerType) < 0) return NULL;
    const unsigned char boundaries[] = {'\n', '\r', 0x0b, 0x0c, 0x1c, 0x1d, 0x1e, 0xc2, 0xe2};
    for (size_t i = 0; i < sizeof boundaries; i++) BOUNDARY[boundaries[i]] = 1;
    PyObject *module = PyModule_Create(&scan_module);
    if (module == NULL) return NULL;
    if (PyModule_AddObjectRef(module, "Scanner", (PyObject *)&ScannerType) < 0 ||
        PyModule_AddObjectRef(module, "Maker", (PyObject *)&MakerType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
