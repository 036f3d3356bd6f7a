// Command astpos answers, from Go's own go/parser and go/ast, what stands at source positions.
//
// It is the independent check of the golden files (tests/test_golden_ast.py): the parser under
// test never runs here. Input on stdin, one query per line: `FILE LINE COL` (COL is a 1-based
// byte offset, as the compiler prints it). Output on stdout, one JSON object per query:
//
//	{"decl": "(*List).Push", "var": "", "closures": 1, "nodes": [{"kind": "Ident", "text": "x"}]}
//
// decl is the enclosing function declaration in the compiler's spelling (`F`, `T.M`, `(*T).M`,
// type parameters dropped), var the package-level variable whose initializer holds the position,
// closures the number of function literals that strictly contain it, and nodes every expression or
// statement that starts exactly there, outermost first, with its source text when it is a name
// (kind CallParen: a call whose opening parenthesis is there, with the called name; CompositeBrace: a
// composite literal's opening brace; SelectorDot: a selector's dot), where the compiler places them.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"strings"
)

type node struct {
	Kind string `json:"kind"`
	Text string `json:"text,omitempty"`
}

type answer struct {
	Decl     string `json:"decl"`
	Var      string `json:"var"`
	Closures int    `json:"closures"`
	Nodes    []node `json:"nodes"`
}

func receiver(expr ast.Expr) string {
	switch t := expr.(type) {
	case *ast.StarExpr:
		return "(*" + receiver(t.X) + ")"
	case *ast.IndexExpr:
		return receiver(t.X)
	case *ast.IndexListExpr:
		return receiver(t.X)
	case *ast.Ident:
		return t.Name
	}
	return "?"
}

func declName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	return receiver(fn.Recv.List[0].Type) + "." + fn.Name.Name
}

func text(n ast.Node) string {
	switch t := n.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		if x := text(t.X); x != "" {
			return x + "." + t.Sel.Name
		}
	case *ast.BasicLit:
		return t.Value
	case *ast.RangeStmt:
		// a range-over-func loop's variables are placed at its `for`
		names := []string{}
		for _, e := range []ast.Expr{t.Key, t.Value} {
			if e != nil {
				names = append(names, text(e))
			}
		}
		return strings.Join(names, ",")
	}
	return ""
}

func query(fset *token.FileSet, file *ast.File, pos token.Pos) answer {
	var a answer
	for _, d := range file.Decls {
		if pos < d.Pos() || pos >= d.End() {
			continue
		}
		switch decl := d.(type) {
		case *ast.FuncDecl:
			a.Decl = declName(decl)
		case *ast.GenDecl:
			for _, spec := range decl.Specs {
				if vs, ok := spec.(*ast.ValueSpec); ok && pos >= vs.Pos() && pos < vs.End() && len(vs.Names) > 0 {
					a.Var = vs.Names[0].Name
				}
			}
		}
	}
	ast.Inspect(file, func(n ast.Node) bool {
		if n == nil || pos < n.Pos() || pos >= n.End() {
			return n == nil || pos >= n.Pos() && pos < n.End()
		}
		if _, ok := n.(*ast.FuncLit); ok && n.Pos() < pos {
			a.Closures++
		}
		// the compiler places a call (and what it inlines) at its opening parenthesis
		if call, ok := n.(*ast.CallExpr); ok && call.Lparen == pos {
			a.Nodes = append(a.Nodes, node{Kind: "CallParen", Text: text(call.Fun)})
		}
		// a composite literal at its opening brace, a selector at its dot
		if lit, ok := n.(*ast.CompositeLit); ok && lit.Lbrace == pos {
			a.Nodes = append(a.Nodes, node{Kind: "CompositeBrace"})
		}
		if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Pos()-1 == pos {
			a.Nodes = append(a.Nodes, node{Kind: "SelectorDot", Text: text(sel)})
		}
		if n.Pos() == pos {
			switch n.(type) {
			case ast.Expr, ast.Stmt:
				a.Nodes = append(a.Nodes, node{Kind: strings.TrimPrefix(reflect.TypeOf(n).String(), "*ast."), Text: text(n)})
			}
		}
		return true
	})
	return a
}

func main() {
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	out := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var name string
		var line, col int
		if _, err := fmt.Sscanf(in.Text(), "%s %d %d", &name, &line, &col); err != nil {
			fmt.Fprintln(os.Stderr, "astpos: bad query:", in.Text())
			os.Exit(2)
		}
		file, ok := files[name]
		if !ok {
			var err error
			file, err = parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			if err != nil {
				fmt.Fprintln(os.Stderr, "astpos:", err)
				os.Exit(2)
			}
			files[name] = file
		}
		tf := fset.File(file.Pos())
		if line < 1 || line > tf.LineCount() {
			fmt.Fprintf(os.Stderr, "astpos: %s has no line %d\n", name, line)
			os.Exit(2)
		}
		if err := out.Encode(query(fset, file, tf.LineStart(line)+token.Pos(col-1))); err != nil {
			os.Exit(1)
		}
	}
}
