/* bot.gc._flows: an explanation's `flow:` and `from` lines -> Flow records, in C.
 *
 * The same work as bot/gc/flows.py's FlowReader.flows and _flow_text with bot/gc/lines.py's
 * split_flow, split_step and parse_pos, step for step: the same caches (the reader's dicts,
 * passed in), filled in the same order, the same `unknown` calls, the same records. The pure
 * Python code stays the reference (tests/test_native_flows.py compares both paths).
 *
 * Records are made without calling their classes: Flow, Step and Position are frozen, slotted
 * dataclasses whose __init__ only stores its arguments (through object.__setattr__, which is
 * most of its cost), so an instance is allocated and its slots are filled directly, at the
 * offsets their member descriptors give. PyInit checks the classes are still of that shape.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include "_slots.h"

/* ---- records ---------------------------------------------------------------------------- */

#define MAX_FIELDS 3

typedef struct {
    PyTypeObject *type; /* strong reference */
    Py_ssize_t offset[MAX_FIELDS];
} Record;

static Record FLOW, STEP, POSITION;
static PyObject *parse_pos_py; /* bot.gc.lines.parse_pos, for the rare non-ASCII digits */

/* Looks a dataclass's slots up: its fields, in order, must be the `names` and plain object slots. */
static int record_init(Record *r, PyObject *module, const char *cls, const char *const *names) {
    PyObject *type = PyObject_GetAttrString(module, cls);
    if (type == NULL) return -1;
    if (!PyType_Check(type)) {
        PyErr_Format(PyExc_ImportError, "bot.gc.model.%s is not a class", cls);
        goto fail;
    }
    PyObject *match = PyObject_GetAttrString(type, "__match_args__");
    if (match == NULL) goto fail;
    int same = PyTuple_Check(match) && PyTuple_GET_SIZE(match) == MAX_FIELDS;
    for (Py_ssize_t i = 0; same && i < MAX_FIELDS; i++) {
        PyObject *item = PyTuple_GET_ITEM(match, i);
        same = PyUnicode_Check(item) && PyUnicode_CompareWithASCIIString(item, names[i]) == 0;
    }
    Py_DECREF(match);
    if (!same) {
        PyErr_Format(PyExc_ImportError, "bot.gc.model.%s has other fields", cls);
        goto fail;
    }
    int post_init = PyObject_HasAttrString(type, "__post_init__");
    if (post_init) {
        PyErr_Format(PyExc_ImportError, "bot.gc.model.%s has a __post_init__", cls);
        goto fail;
    }
    for (int i = 0; i < MAX_FIELDS; i++) {
        int ok = slot_offset(type, names[i], &r->offset[i]);
        if (ok < 0) goto fail;
        if (!ok) {
            PyErr_Format(PyExc_ImportError, "bot.gc.model.%s.%s is not a slot", cls, names[i]);
            goto fail;
        }
    }
    r->type = (PyTypeObject *)type;
    return 0;
fail:
    Py_DECREF(type);
    return -1;
}

/* A new record holding new references to the three `values` (borrowed). */
static PyObject *record_new(const Record *r, PyObject *a, PyObject *b, PyObject *c) {
    PyObject *obj = r->type->tp_alloc(r->type, 0);
    if (obj == NULL) return NULL;
    PyObject *values[MAX_FIELDS] = {a, b, c};
    for (int i = 0; i < MAX_FIELDS; i++) {
        Py_INCREF(values[i]);
        *(PyObject **)((char *)obj + r->offset[i]) = values[i];
    }
    return obj;
}

/* ---- text ------------------------------------------------------------------------------- */

/* One string's characters; positions are code points, as Python's. */
typedef struct {
    PyObject *str;
    int kind;
    const void *data;
} Text;

#define AT(t, i) PyUnicode_READ((t)->kind, (t)->data, (i))

/* The first `ch` (ASCII) in [i, end), or -1: memchr over the bytes, whatever the kind (a byte
 * equal to `ch` may be part of another character, hence the check). */
static Py_ssize_t find_char(const Text *t, Py_UCS4 ch, Py_ssize_t i, Py_ssize_t end) {
    const char *base = (const char *)t->data;
    const char *p = base + i * t->kind, *stop = base + end * t->kind;
    while (p < stop && (p = memchr(p, (int)ch, (size_t)(stop - p))) != NULL) {
        Py_ssize_t at = (p - base) / t->kind;
        if (AT(t, at) == ch) return at;
        p++;
    }
    return -1;
}

/* Whether [i, end) starts with `lit` (`n` code points). */
static int starts(const Text *t, Py_ssize_t i, Py_ssize_t end, const Py_UCS4 *lit, Py_ssize_t n) {
    if (end - i < n) return 0;
    for (Py_ssize_t k = 0; k < n; k++)
        if (AT(t, i + k) != lit[k]) return 0;
    return 1;
}

/* str.find / str.rfind of `lit` within [start, end): the index or -1. */
static Py_ssize_t find(const Text *t, Py_ssize_t start, Py_ssize_t end, const Py_UCS4 *lit, Py_ssize_t n) {
    for (Py_ssize_t i = start; i + n <= end; i++)
        if (starts(t, i, end, lit, n)) return i;
    return -1;
}

static Py_ssize_t rfind(const Text *t, Py_ssize_t start, Py_ssize_t end, const Py_UCS4 *lit, Py_ssize_t n) {
    for (Py_ssize_t i = end - n; i >= start; i--)
        if (starts(t, i, end, lit, n)) return i;
    return -1;
}

static const Py_UCS4 FLOW_SEP[] = {'\n', ' ', ' ', 'f', 'l', 'o', 'w', ':', ' '}; /* "\n" + FLOW */
static const Py_UCS4 FROM[] = {' ', ' ', ' ', ' ', 'f', 'r', 'o', 'm', ' '};
static const Py_UCS4 WARNING[] = {'w', 'a', 'r', 'n', 'i', 'n', 'g', ':', ' '};
static const Py_UCS4 AT_SEP[] = {' ', 'a', 't', ' '};
static const Py_UCS4 OPEN[] = {' ', '('};
static const Py_UCS4 ARROW[] = {' ', 0x2190, ' '}; /* ≥1.25's ` ← ` */
static const Py_UCS4 EQUALS[] = {' ', '=', ' '};   /* ≤1.24's ` = ` */
#define LEN(a) ((Py_ssize_t)(sizeof(a) / sizeof((a)[0])))

/* The next `\n  flow: ` at or after i, or -1 (they cannot overlap: one `\n` each). */
static Py_ssize_t find_flow(const Text *t, Py_ssize_t i, Py_ssize_t end) {
    while ((i = find_char(t, '\n', i, end)) >= 0) {
        if (starts(t, i, end, FLOW_SEP, LEN(FLOW_SEP))) return i;
        i++;
    }
    return -1;
}

static PyObject *sub(const Text *t, Py_ssize_t start, Py_ssize_t end) {
    return PyUnicode_Substring(t->str, start, end);
}

/* words.setdefault(s, s) as a new reference; steals `s` (NULL passes through). */
static PyObject *word(PyObject *words, PyObject *s) {
    if (s == NULL) return NULL;
    PyObject *kept = PyDict_SetDefault(words, s, s);
    Py_XINCREF(kept);
    Py_DECREF(s);
    return kept;
}

/* str.strip() of [start, end) (Python's whitespace), then `word`. */
static PyObject *stripped_word(const Text *t, Py_ssize_t start, Py_ssize_t end, PyObject *words) {
    while (start < end && Py_UNICODE_ISSPACE(AT(t, start))) start++;
    while (end > start && Py_UNICODE_ISSPACE(AT(t, end - 1))) end--;
    return word(words, sub(t, start, end));
}

/* [start, end) as an int if it is all ASCII digits; -1 when it is not, -2 when it has a
 * character outside ASCII (str.isdigit and int() must then decide). */
static int ascii_digits(const Text *t, Py_ssize_t start, Py_ssize_t end) {
    int digits = start < end;
    for (Py_ssize_t i = start; i < end; i++) {
        Py_UCS4 ch = AT(t, i);
        if (ch > 127) return -2;
        digits &= ch >= '0' && ch <= '9';
    }
    return digits ? 1 : -1;
}

static PyObject *to_int(const Text *t, Py_ssize_t start, Py_ssize_t end) {
    if (end - start <= 18) {
        long long value = 0;
        for (Py_ssize_t i = start; i < end; i++) value = value * 10 + (long long)(AT(t, i) - '0');
        return PyLong_FromLongLong(value);
    }
    PyObject *s = sub(t, start, end);
    if (s == NULL) return NULL;
    PyObject *value = PyLong_FromUnicodeObject(s, 10);
    Py_DECREF(s);
    return value;
}

/* ---- parsing ---------------------------------------------------------------------------- */

typedef struct {
    PyObject *flows, *steps, *positions, *words, *unknown;
    int ended;
} Reader;

/* lines.parse_pos(pos) as a Position for [start, end) (not empty), made with the file's word;
 * Py_None (a new reference) when it is not a position. */
static PyObject *parse_position(const Reader *r, const Text *t, Py_ssize_t start, Py_ssize_t end) {
    static const Py_UCS4 COLON[] = {':'};
    Py_ssize_t last_colon = rfind(t, start, end, COLON, 1);
    if (last_colon < 0) Py_RETURN_NONE; /* no head */
    int last = ascii_digits(t, last_colon + 1, end);
    Py_ssize_t mid_colon = rfind(t, start, last_colon, COLON, 1);
    int mid = mid_colon < 0 ? -1 : ascii_digits(t, mid_colon + 1, last_colon);
    PyObject *file = NULL, *line = NULL, *column = NULL;
    if (last == -2 || mid == -2) { /* a digit outside ASCII: Python's own isdigit and int() */
        if (parse_pos_py == NULL) {
            PyObject *lines = PyImport_ImportModule("bot.gc.lines");
            if (lines == NULL) return NULL;
            parse_pos_py = PyObject_GetAttrString(lines, "parse_pos");
            Py_DECREF(lines);
            if (parse_pos_py == NULL) return NULL;
        }
        PyObject *s = sub(t, start, end);
        if (s == NULL) return NULL;
        PyObject *parsed = PyObject_CallOneArg(parse_pos_py, s);
        Py_DECREF(s);
        if (parsed == NULL || parsed == Py_None) return parsed;
        if (!PyTuple_Check(parsed) || PyTuple_GET_SIZE(parsed) != 3) {
            Py_DECREF(parsed);
            PyErr_SetString(PyExc_TypeError, "parse_pos gave no (file, line, column)");
            return NULL;
        }
        file = PyTuple_GET_ITEM(parsed, 0);
        line = PyTuple_GET_ITEM(parsed, 1);
        column = PyTuple_GET_ITEM(parsed, 2);
        Py_INCREF(file);
        Py_INCREF(line);
        Py_INCREF(column);
        Py_DECREF(parsed);
    } else {
        if (last < 0 || last_colon == start) Py_RETURN_NONE;
        if (mid > 0 && mid_colon > start) {
            file = sub(t, start, mid_colon);
            line = to_int(t, mid_colon + 1, last_colon);
            column = to_int(t, last_colon + 1, end);
        } else {
            file = sub(t, start, last_colon);
            line = to_int(t, last_colon + 1, end);
            column = PyLong_FromLong(0);
        }
    }
    PyObject *position = NULL;
    if (file != NULL && line != NULL && column != NULL) {
        file = word(r->words, file);
        if (file != NULL) position = record_new(&POSITION, file, line, column);
    }
    Py_XDECREF(file);
    Py_XDECREF(line);
    Py_XDECREF(column);
    return position;
}

/* lines.split_step of [start, end): a new Step, Py_None (a new reference) or NULL on error. */
static PyObject *split_step(const Reader *r, const Text *t, Py_ssize_t start, Py_ssize_t end) {
    Py_ssize_t body_end = end, pos_start = end;
    Py_ssize_t at_sep = rfind(t, start, end, AT_SEP, LEN(AT_SEP));
    if (at_sep >= 0 && at_sep > start && AT(t, at_sep - 1) == ')') {
        body_end = at_sep;
        pos_start = at_sep + LEN(AT_SEP);
    }
    if (body_end == start || AT(t, body_end - 1) != ')') Py_RETURN_NONE;
    Py_ssize_t open = rfind(t, start, body_end, OPEN, LEN(OPEN));
    if (open < 0) Py_RETURN_NONE;
    PyObject *at;
    if (pos_start == end) {
        at = Py_None;
        Py_INCREF(at);
    } else {
        PyObject *key = sub(t, pos_start, end);
        if (key == NULL) return NULL;
        at = PyDict_GetItemWithError(r->positions, key);
        if (at != NULL) {
            Py_INCREF(at);
        } else if (!PyErr_Occurred()) {
            at = parse_position(r, t, pos_start, end);
            if (at != NULL && PyDict_SetItem(r->positions, key, at) < 0) Py_CLEAR(at);
        }
        Py_DECREF(key);
        if (at == NULL) return NULL;
    }
    PyObject *why = word(r->words, sub(t, open + 2, body_end - 1));
    PyObject *where = why == NULL ? NULL : sub(t, start, open);
    PyObject *step = where == NULL ? NULL : record_new(&STEP, where, why, at);
    Py_XDECREF(where);
    Py_XDECREF(why);
    Py_DECREF(at);
    return step;
}

/* FlowReader._flow_text of the piece [start, end): a new Flow (NULL on error) and `*known`. */
static PyObject *flow_text(const Reader *r, const Text *t, Py_ssize_t start, Py_ssize_t end, int *known) {
    PyObject *steps = PyList_New(0);
    if (steps == NULL) return NULL;
    *known = 1;
    Py_ssize_t head_end = find_char(t, '\n', start, end);
    if (head_end < 0) head_end = end;
    for (Py_ssize_t line = head_end + 1; line <= end && head_end < end;) {
        Py_ssize_t stop = find_char(t, '\n', line, end);
        if (stop < 0) stop = end;
        if (starts(t, line, stop, FROM, LEN(FROM))) {
            Py_ssize_t text = line + LEN(FROM);
            PyObject *key = sub(t, text, stop);
            if (key == NULL) goto fail;
            PyObject *step = PyDict_GetItemWithError(r->steps, key);
            if (step != NULL) {
                Py_INCREF(step);
            } else if (!PyErr_Occurred()) {
                Py_ssize_t cut = stop; /* a `\r\n` line's `\r` */
                while (cut > text && AT(t, cut - 1) == '\r') cut--;
                step = split_step(r, t, text, cut);
                if (step != NULL && step != Py_None && PyDict_SetItem(r->steps, key, step) < 0) Py_CLEAR(step);
            }
            Py_DECREF(key);
            if (step == NULL) goto fail;
            int appended = step == Py_None ? 1 : PyList_Append(steps, step);
            int is_step = step != Py_None;
            Py_DECREF(step);
            if (appended < 0) goto fail;
            if (is_step) goto next;
        } else if (find(t, line, stop, WARNING, LEN(WARNING)) >= 0) {
            goto next; /* `warning: truncated explanation due to ...` */
        }
        *known = 0;
        PyObject *as_read = sub(t, line, stop); /* with the newline it came with */
        if (as_read != NULL && r->ended) {
            PyObject *newline = PyUnicode_FromOrdinal('\n');
            if (newline == NULL) {
                Py_CLEAR(as_read);
            } else {
                PyUnicode_Append(&as_read, newline);
                Py_DECREF(newline);
            }
        }
        if (as_read == NULL) goto fail;
        PyObject *result = PyObject_CallOneArg(r->unknown, as_read);
        Py_DECREF(as_read);
        if (result == NULL) goto fail;
        Py_DECREF(result);
    next:
        line = stop + 1;
    }
    /* split_flow(head.rstrip("\r")) */
    while (head_end > start && AT(t, head_end - 1) == '\r') head_end--;
    if (head_end > start && AT(t, head_end - 1) == ':') head_end--;
    PyObject *dst, *src;
    Py_ssize_t sep = find(t, start, head_end, ARROW, LEN(ARROW)), width = LEN(ARROW);
    if (sep < 0) {
        sep = find(t, start, head_end, EQUALS, LEN(EQUALS));
        width = LEN(EQUALS);
    }
    if (sep >= 0) {
        dst = stripped_word(t, start, sep, r->words);
        src = dst == NULL ? NULL : stripped_word(t, sep + width, head_end, r->words);
    } else {
        dst = stripped_word(t, start, head_end, r->words);
        src = dst == NULL ? NULL : word(r->words, PyUnicode_New(0, 0));
    }
    PyObject *tuple = src == NULL ? NULL : PyList_AsTuple(steps);
    PyObject *flow = tuple == NULL ? NULL : record_new(&FLOW, dst, src, tuple);
    Py_XDECREF(dst);
    Py_XDECREF(src);
    Py_XDECREF(tuple);
    Py_DECREF(steps);
    return flow;
fail:
    Py_DECREF(steps);
    return NULL;
}

PyDoc_STRVAR(read_doc,
             "read(text, ended, flows, steps, positions, words, unknown) -> list[Flow]\n\n"
             "FlowReader.flows of a compacted explanation `text` (see bot/gc/flows.py), with the\n"
             "reader's caches and `unknown` callback.");

static PyObject *flows_read(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 7) {
        PyErr_Format(PyExc_TypeError, "read() takes 7 arguments (%zd given)", nargs);
        return NULL;
    }
    if (!PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "read(): text must be a str");
        return NULL;
    }
    for (int i = 2; i < 6; i++)
        if (!PyDict_Check(args[i])) {
            PyErr_SetString(PyExc_TypeError, "read(): the caches must be dicts");
            return NULL;
        }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(args[0]) < 0) return NULL;
#endif
    int ended = PyObject_IsTrue(args[1]);
    if (ended < 0) return NULL;
    Reader r = {args[2], args[3], args[4], args[5], args[6], ended};
    Text t = {args[0], PyUnicode_KIND(args[0]), PyUnicode_DATA(args[0])};
    Py_ssize_t n = PyUnicode_GET_LENGTH(args[0]);
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    int known;
    Py_ssize_t sep = find_flow(&t, 0, n);
    Py_ssize_t first_end = sep < 0 ? n : sep;
    if (first_end > 0) { /* steps (or unknown lines) before the first flow: parsed, dropped */
        PyObject *dropped = flow_text(&r, &t, 0, first_end, &known);
        if (dropped == NULL) goto fail;
        Py_DECREF(dropped);
    }
    while (sep >= 0) {
        Py_ssize_t start = sep + LEN(FLOW_SEP);
        sep = find_flow(&t, start, n);
        Py_ssize_t end = sep < 0 ? n : sep;
        PyObject *piece = sub(&t, start, end);
        if (piece == NULL) goto fail;
        PyObject *flow = PyDict_GetItemWithError(r.flows, piece);
        if (flow != NULL) {
            Py_INCREF(flow);
        } else if (!PyErr_Occurred()) {
            flow = flow_text(&r, &t, start, end, &known);
            /* a flow with unknown lines counts them each time it is met: not kept */
            if (flow != NULL && known && PyDict_SetItem(r.flows, piece, flow) < 0) Py_CLEAR(flow);
        }
        Py_DECREF(piece);
        if (flow == NULL) goto fail;
        int appended = PyList_Append(out, flow);
        Py_DECREF(flow);
        if (appended < 0) goto fail;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"read", (PyCFunction)(void (*)(void))flows_read, METH_FASTCALL, read_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "bot.gc._flows", "FlowReader.flows in C (bot/gc/flows.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__flows(void) {
    static const char *const flow_fields[] = {"dst", "src", "steps"};
    static const char *const step_fields[] = {"where", "why", "at"};
    static const char *const position_fields[] = {"file", "line", "column"};
    PyObject *model = PyImport_ImportModule("bot.gc.model");
    if (model == NULL) return NULL;
    int failed = (FLOW.type == NULL && record_init(&FLOW, model, "Flow", flow_fields) < 0) ||
                 (STEP.type == NULL && record_init(&STEP, model, "Step", step_fields) < 0) ||
                 (POSITION.type == NULL && record_init(&POSITION, model, "Position", position_fields) < 0);
    Py_DECREF(model);
    if (failed) return NULL;
    return PyModule_Create(&module_def);
}
