/* SPDX-License-Identifier: MIT */
/*
 * The timeline as one self-contained HTML page (`replay --html`): no network, no external
 * script. The page is a header (scenario, verdict, failure message, replay command), a
 * tool bar, an info line for the step cursor, and one canvas with a swimlane per track of
 * the model (cli_timeline.h). The events are embedded as columns of numbers (steps,
 * positions and times delta-encoded, labels deduplicated), so 100,000 events make a few
 * megabytes and draw in milliseconds.
 *
 * The page reports how it went in its title: "gale timeline: ok, N tracks, M events" once
 * drawn, "gale timeline: error: ..." when a script error happened (the test reads it with
 * headless Chromium's --dump-dom), and in #status's data-tracks attribute.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <gale/scenario.h>

#include "cli.h"
#include "cli_timeline.h"

static const char page_head[] =
	"<!doctype html>\n<html><head><meta charset=\"utf-8\">\n"
	"<script>window.onerror=function(m){document.title='gale timeline: error: '+m;};"
	"</script>\n<title>gale timeline: loading</title>\n<style>\n"
	"body{margin:0;font:13px system-ui,sans-serif;color:#222;background:#fff}\n"
	"#hd{padding:8px 12px;border-bottom:1px solid #ccc;background:#fafafa}\n"
	"#msg{color:#b00;font-weight:600;white-space:pre-wrap;margin:4px 0}\n"
	"#msg.ok{color:#070}\n"
	"code{background:#eee;padding:1px 4px}\n"
	"#bar{padding:4px 12px;border-bottom:1px solid #ddd}\n"
	"#bar span{color:#666;margin-left:8px}\n"
	"#info{padding:4px 12px;font:12px monospace;white-space:pre;height:12.5em;overflow:auto;"
	"border-bottom:1px solid #ddd;background:#fcfcf4}\n"
	"canvas{display:block}\n"
	"</style></head><body>\n";

static const char page_bar[] =
	"<div id=\"bar\"><button id=\"fit\">fit</button> <button id=\"zin\">zoom in</button> "
	"<button id=\"zout\">zoom out</button> <button id=\"axis\">axis: order</button> "
	"<button id=\"fail\">failure</button> step <input id=\"step\" size=\"8\">"
	"<span id=\"status\"></span><span>wheel: zoom &middot; drag: pan &middot; click: "
	"cursor &middot; &larr;/&rarr;: step &middot; page.html#step=N opens at step N</span>"
	"<br><span>polls: <b style=\"color:#9cc3f0\">"
	"Pending</b> <b style=\"color:#1e8449\">Ready(0)</b> <b style=\"color:#c0392b\">"
	"Ready(error)</b> &middot; ops: <b style=\"color:#4a7fd4\">ok</b> <b style=\"color:"
	"#b0b0b0\">would block</b> <b style=\"color:#e67e22\">error</b> &middot; <b style="
	"\"color:#27ae60\">ready</b> <b style=\"color:#8e44ad\">clear</b> <b style=\"color:"
	"#e00000\">&#9650; fault</b> <b style=\"color:#e00000\">| failure</b> &middot; "
	"x: order of the records, or virtual time</span></div>\n<div id=\"info\">"
	"</div>\n"
	"<canvas id=\"c\"></canvas>\n";

/* The viewer: decodes the columns, draws the lanes, handles zoom, pan and the cursor. */
static const char page_script[] =
	"<script>\n(function(){'use strict';\n"
	"var d=document,C=d.getElementById('c'),X=C.getContext('2d'),n=G.T.length,"
	"nt=G.tracks.length,i;\n"
	"var S=G.S,Q=G.Q,T0=G.X,QE=new Float64Array(n),TE=new Float64Array(n);\n"
	"for(i=1;i<n;i++){S[i]+=S[i-1];Q[i]+=Q[i-1];T0[i]+=T0[i-1];G.V[i]+=G.V[i-1];}\n"
	"for(i=0;i<n;i++){QE[i]=Q[i]+G.QD[i];TE[i]=T0[i]+G.XD[i];}\n"
	"var LW=230,RH=18,TOP=22,time=false,lo=0,hi=1,cur=G.failStep,drag=null;\n"
	"var COL=['#4a7fd4','#b0b0b0','#e67e22','#27ae60','#8e44ad','#e00000','#9cc3f0',"
	"'#1e8449','#c0392b','#e4e4e4','#999','#e00000','#16a085'];\n"
	"var SLICE=[1,1,1,0,0,0,1,1,1,1,0,0,1];\n"
	"function a0(k){return time?T0[k]:Q[k];}function a1(k){return time?TE[k]:QE[k];}\n"
	"function end(){var m=1;for(var k=0;k<n;k++)m=Math.max(m,a1(k));return m+1;}\n"
	"function fit(){lo=0;hi=end();if(time&&n)lo=T0[0];}\n"
	"function W(){return C.width-LW-10;}\n"
	"function px(v){return LW+(v-lo)/(hi-lo)*W();}\n"
	"function val(x){return lo+(x-LW)/W()*(hi-lo);}\n"
	"function first(v){var a=0,b=n;while(a<b){var m=(a+b)>>1;if(a0(m)<v)a=m+1;else b=m;}"
	"return a;}\n"
	"function stepAt(s){var a=0,b=n;while(a<b){var m=(a+b)>>1;if(S[m]<s)a=m+1;else b=m;}"
	"return a;}\n"
	"function fmt(v){if(time)return (v/1e6).toFixed(6)+' ms';var k=Math.min(first(v),n-1);"
	"return k<0?'':'step '+S[k];}\n"
	"function draw(){var w=C.width,h=C.height,k,t;X.clearRect(0,0,w,h);\n"
	" for(t=0;t<nt;t++){if(t%2){X.fillStyle='#f5f5f5';X.fillRect(0,TOP+t*RH,w,RH);}}\n"
	" var fails=[],dense=first(hi)-first(lo)>2*W();X.font='11px sans-serif';"
	"X.textBaseline='middle';\n"
	" for(k=0;k<n;k++){var b=a1(k),a=a0(k);if(b<lo||a>hi)continue;var K=G.K[k],"
	"x=px(a),y=TOP+G.T[k]*RH;\n"
	"  X.fillStyle=COL[K];if(K==11){fails.push(x);continue;}\n"
	"  if(SLICE[K]){var ww=Math.max(px(b)-x,2);X.fillRect(x,y+3,ww,RH-6);\n"
	"   if(ww>40){X.save();X.beginPath();X.rect(x,y,ww,RH);X.clip();X.fillStyle="
	"K==9||K==6||K==1?'#333':'#fff';X.fillText(G.labels[G.L[k]],x+2,y+RH/2);X.restore();}}\n"
	"  else if(K==5&&!dense){X.beginPath();X.moveTo(x,y+1);X.lineTo(x+5,y+RH-2);"
	"X.lineTo(x-5,y+RH-2);X.fill();}\n"
	"  else X.fillRect(x-1,y+2,2,RH-4);}\n"
	" X.fillStyle='#e00000';for(k=0;k<fails.length;k++)X.fillRect(fails[k]-1,0,3,h);\n"
	" if(cur>=0){var c=stepAt(cur);if(c<n){X.fillStyle='rgba(0,0,0,.55)';"
	"X.fillRect(px(a0(c)),0,1,h);}}\n"
	" X.fillStyle='#fff';X.fillRect(0,0,LW,h);X.fillStyle='#222';X.font='12px sans-serif';\n"
	" for(t=0;t<nt;t++){X.fillStyle=G.tracks[t][1]==1?'#1a4f9c':'#222';"
	"X.fillText(G.tracks[t][0],6,TOP+t*RH+RH/2,LW-10);}\n"
	" X.fillStyle='#666';X.font='11px sans-serif';for(t=0;t<=6;t++){var v=lo+(hi-lo)*t/6;"
	"X.fillRect(px(v),TOP-5,1,5);X.fillText(fmt(v),px(v)-(t==6?70:t?30:0),10);}}\n"
	"function info(){var el=d.getElementById('info');if(cur<0){el.textContent='click a lane "
	"to put the step cursor there; the arrow keys move it';return;}\n"
	" var k=stepAt(cur-3),out=[];d.getElementById('step').value=cur;"
	"location.hash='step='+cur;\n"
	" for(;k<n&&S[k]<=cur+3&&out.length<12;k++)out.push((S[k]==cur?'> ':'  ')+'step '+S[k]+"
	"'  t='+(G.V[k]/1e6).toFixed(6)+'ms  '+G.tracks[G.T[k]][0]+': '+G.labels[G.L[k]]);\n"
	" if(!out.length)out.push('step '+cur+': no event on a track');"
	"el.textContent=out.join('\\n');}\n"
	"function show(){var c=cur<0?n:stepAt(cur);if(c<n){var v=a0(c);if(v<lo||v>hi){var s=hi-lo;"
	"lo=v-s/2;hi=v+s/2;}}info();draw();}\n"
	"function zoom(f,v){lo=v-(v-lo)*f;hi=v+(hi-v)*f;if(hi-lo<1e-3)hi=lo+1e-3;draw();}\n"
	"function size(){C.width=Math.max(innerWidth,400);C.height=TOP+nt*RH+4;draw();}\n"
	"C.onwheel=function(e){e.preventDefault();zoom(e.deltaY>0?1.25:0.8,val(e.offsetX));};\n"
	"C.onmousedown=function(e){drag={x:e.offsetX,lo:lo,hi:hi,moved:false};};\n"
	"C.onmousemove=function(e){if(!drag)return;var dx=(e.offsetX-drag.x)/W()*(drag.hi-"
	"drag.lo);if(Math.abs(e.offsetX-drag.x)>3)drag.moved=true;lo=drag.lo-dx;hi=drag.hi-dx;"
	"draw();};\n"
	"C.onmouseup=function(e){var was=drag;drag=null;if(!was||was.moved||e.offsetX<LW)"
	"return;var k=Math.min(first(val(e.offsetX)),n-1);if(k>0&&Math.abs(a0(k-1)-"
	"val(e.offsetX))<Math.abs(a0(k)-val(e.offsetX)))k--;if(k>=0){cur=S[k];info();draw();}};\n"
	"d.onkeydown=function(e){if(e.target.tagName=='INPUT'||n==0)return;var k=stepAt(cur);"
	"if(e.key=='ArrowRight'){while(k<n-1&&S[k]<=cur)k++;cur=S[k];show();}"
	"else if(e.key=='ArrowLeft'){k=Math.max(k-1,0);cur=S[k];show();}};\n"
	"d.getElementById('fit').onclick=function(){fit();draw();};\n"
	"d.getElementById('zin').onclick=function(){zoom(0.5,(lo+hi)/2);};\n"
	"d.getElementById('zout').onclick=function(){zoom(2,(lo+hi)/2);};\n"
	"d.getElementById('axis').onclick=function(){time=!time;this.textContent='axis: '+"
	"(time?'virtual time':'order');fit();show();};\n"
	"d.getElementById('fail').onclick=function(){if(G.failStep<0)return;cur=G.failStep;"
	"var c=stepAt(cur);if(c<n){var v=a0(c),s=time?2e5:200;lo=v-s*0.8;hi=v+s*0.2;}"
	"info();draw();};\n"
	"d.getElementById('step').onchange=function(){var s=parseInt(this.value,10);"
	"if(s>=0){cur=s;show();}};\n"
	"var h=/step=(\\d+)/.exec(location.hash);if(h)cur=parseInt(h[1],10);\n"
	"onresize=size;fit();size();show();\n"
	"var st=d.getElementById('status');st.setAttribute('data-tracks',nt);"
	"st.setAttribute('data-events',n);st.setAttribute('data-ms',Math.round(performance.now()));"
	"st.textContent=nt+' tracks, '+n+' events';\n"
	"d.title='gale timeline: ok, '+nt+' tracks, '+n+' events';\n"
	"})();\n</script>\n</body></html>\n";

/* text as HTML element content. */
static void html_escape(FILE *out, const char *text)
{
	for (; *text != '\0'; text++) {
		unsigned char c = (unsigned char)*text;
		if (c == '<' || c == '>' || c == '&' || c == '"' || c == '\'')
			fprintf(out, "&#%u;", c);
		else
			fputc(c, out);
	}
}

static void page_header(FILE *out, const struct cli_timeline_run *run)
{
	fputs("<div id=\"hd\"><b>gale timeline</b> &middot; scenario ", out);
	html_escape(out, run->scenario);
	fprintf(out, " &middot; trace hash 0x%016" PRIx64 " (%" PRIu64 " records)\n",
		run->result->trace_hash, run->result->trace_count);
	if (run->status > 0) {
		fprintf(out, "<div id=\"msg\">FAILED: oracle %s: ",
			gale_oracle_name(run->result->oracle));
		html_escape(out, run->result->message);
	} else {
		fprintf(out, "<div id=\"msg\" class=\"ok\">%s",
			run->status == 0 ? "passed" : "could not run");
	}
	fputs("</div><div>replay: <code>", out);
	html_escape(out, run->command);
	fputs("</code></div></div>\n", out);
}

/* One column of the events: field(k), delta-encoded against the previous when delta. */
static void column_write(FILE *out, const char *name, const struct tl_model *model,
			 int64_t (*field)(const struct tl_event *event), bool delta)
{
	fprintf(out, ",\n%s:[", name);
	int64_t previous = 0;
	for (size_t k = 0; k < model->events_len; k++) {
		int64_t value = field(&model->events[k]);
		fprintf(out, "%s%" PRId64, k > 0 ? "," : "", delta ? value - previous : value);
		previous = value;
	}
	fputc(']', out);
}

static int64_t field_track(const struct tl_event *e) { return e->track; }
static int64_t field_kind(const struct tl_event *e) { return e->kind; }
static int64_t field_step(const struct tl_event *e) { return (int64_t)e->step; }
static int64_t field_seq(const struct tl_event *e) { return (int64_t)e->seq0; }
static int64_t field_seq_len(const struct tl_event *e) { return (int64_t)(e->seq1 - e->seq0); }
static int64_t field_t(const struct tl_event *e) { return e->t0; }
static int64_t field_t_len(const struct tl_event *e) { return e->t1 - e->t0; }
static int64_t field_label(const struct tl_event *e) { return e->label; }
static int64_t field_time(const struct tl_event *e) { return e->time_ns; }

static void page_data(FILE *out, const struct tl_model *model, const struct cli_timeline_run *run)
{
	fprintf(out, "<script>\nvar G={failStep:%" PRId64 ",\ntracks:[",
		run->status > 0 ? (int64_t)run->result->failure_step : (int64_t)-1);
	for (size_t t = 0; t < model->tracks_len; t++) {
		fputs(t > 0 ? ",[\"" : "[\"", out);
		cli_timeline_escape(out, model->tracks[t].name, true);
		fprintf(out, "\",%d]", (int)model->tracks[t].kind);
	}
	fputs("],\nlabels:[", out);
	for (size_t i = 0; i < model->labels.len; i++) {
		fputs(i > 0 ? ",\"" : "\"", out);
		cli_timeline_escape(out, model->labels.strings[i], true);
		fputc('"', out);
	}
	fputc(']', out);
	column_write(out, "T", model, field_track, false);
	column_write(out, "K", model, field_kind, false);
	column_write(out, "S", model, field_step, true);
	column_write(out, "Q", model, field_seq, true);
	column_write(out, "QD", model, field_seq_len, false);
	column_write(out, "X", model, field_t, true);
	column_write(out, "XD", model, field_t_len, false);
	column_write(out, "L", model, field_label, false);
	column_write(out, "V", model, field_time, true);
	fputs("};\n</script>\n", out);
}

void cli_timeline_write_html(const struct tl_model *model, const struct cli_timeline_run *run,
			     FILE *out)
{
	fputs(page_head, out);
	page_header(out, run);
	fputs(page_bar, out);
	page_data(out, model, run);
	fputs(page_script, out);
}
