/* Shared by bot/gc/_scan.c and bot/gc/_flows.c, which fill a slotted dataclass's fields without
 * its Python __init__: where an instance of `type` keeps its field `name`. */
#ifndef BOT_GC_SLOTS_H
#define BOT_GC_SLOTS_H

#include <Python.h>
#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define BOT_OBJECT_SLOT T_OBJECT_EX
#define BOT_READONLY READONLY
#else
#define BOT_OBJECT_SLOT Py_T_OBJECT_EX
#define BOT_READONLY Py_READONLY
#endif

/* 1 and its *offset: `name` is a writable object slot of `type`; 0: it is not; -1: an error. */
static inline int slot_offset(PyObject *type, const char *name, Py_ssize_t *offset) {
    PyObject *descr = PyObject_GetAttrString(type, name);
    if (descr == NULL) return -1;
    int slot = Py_IS_TYPE(descr, &PyMemberDescr_Type);
    if (slot) {
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        slot = member->type == BOT_OBJECT_SLOT && !(member->flags & BOT_READONLY);
        *offset = member->offset;
    }
    Py_DECREF(descr);
    return slot;
}

#endif
