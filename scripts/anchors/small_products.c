// Inference products of one short text on MiniLM's shapes (M = 8 … 128 token rows; K x N = 384 x 1152
// fused QKV, 384 x 384 attention output, 384 x 1536 and 1536 x 384 feed-forward), forward NT
// (y = x · Wᵀ + b, W stored (N, K)): OpenBLAS cblas_sgemm (packs W every call), oneDNN dnnl_sgemm
// (packs W every call), and oneDNN's f32 matmul with W reordered ONCE into its blocked layout
// (format_tag_any), whole and as one half of N (what each of two threads runs when a product is
// split by columns; into dense rows: oneDNN 2.6's brgemm refuses a C row stride wider than N and
// falls back to gemm:jit or its reference kernel, so the implementation is printed per shape). Times are the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), the minimum
// of the repetitions: the machine is shared, and wall time under load measures the neighbours.
// Build: gcc -O3 -march=native small_products.c -o small_products -ldnnl $(pkg-config --cflags --libs openblas)
// Run one core: OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ./small_products
// (the core type fttrain selects, OpenBLASKernels; without it this OpenBLAS runs Prescott kernels here)
#include <oneapi/dnnl/dnnl.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define REPS 60
static dnnl_engine_t eng; static dnnl_stream_t st;

// Reorders w (n, k) row-major into the blocked layout oneDNN picks for (k, n); returns the matmul
// primitive for m rows (src m x k, dst m x n with row stride ldc, bias n).
static dnnl_primitive_t prepared(int m,int n,int k,int ldc,const float*w,void**blocked,size_t*scratch){
  dnnl_dims_t ad={m,k}, bd={k,n}, cd={m,n}, biasd={1,n};
  dnnl_dims_t as={k,1}, cs={ldc,1};
  dnnl_memory_desc_t a,b,c,bias,plain;
  dnnl_memory_desc_init_by_strides(&a,2,ad,dnnl_f32,as);
  dnnl_memory_desc_init_by_tag(&b,2,bd,dnnl_f32,dnnl_format_tag_any);
  dnnl_memory_desc_init_by_strides(&c,2,cd,dnnl_f32,cs);
  dnnl_memory_desc_init_by_tag(&bias,2,biasd,dnnl_f32,dnnl_ab);
  dnnl_matmul_desc_t md; dnnl_matmul_desc_init(&md,&a,&b,&bias,&c);
  dnnl_primitive_attr_t at; dnnl_primitive_attr_create(&at); dnnl_primitive_attr_set_scratchpad_mode(at,dnnl_scratchpad_mode_user);
  dnnl_primitive_desc_t pd; if(dnnl_primitive_desc_create(&pd,&md,at,eng,NULL)){printf("no pd\n");exit(1);}
  const dnnl_memory_desc_t*wb=dnnl_primitive_desc_query_md(pd,dnnl_query_weights_md,0);
  *scratch=dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd,dnnl_query_scratchpad_md,0));
  if(!*blocked){
    dnnl_dims_t ps={1,k}; dnnl_memory_desc_init_by_strides(&plain,2,bd,dnnl_f32,ps);
    *blocked=aligned_alloc(64,(dnnl_memory_desc_get_size(wb)+63)/64*64);
    dnnl_primitive_desc_t rpd; dnnl_reorder_primitive_desc_create(&rpd,&plain,eng,wb,eng,NULL);
    dnnl_primitive_t r; dnnl_primitive_create(&r,rpd);
    dnnl_memory_t from,to; dnnl_memory_create(&from,&plain,eng,(void*)w); dnnl_memory_create(&to,wb,eng,*blocked);
    dnnl_exec_arg_t args[2]={{DNNL_ARG_FROM,from},{DNNL_ARG_TO,to}};
    dnnl_primitive_execute(r,st,2,args); dnnl_stream_wait(st);
  }
  dnnl_primitive_t p; dnnl_primitive_create(&p,pd);
  const char*impl; dnnl_primitive_desc_query(pd,dnnl_query_impl_info_str,0,&impl);
  if(strncmp(impl,"brg",3)) printf("(m %d n %d k %d ldc %d: %s)\n",m,n,k,ldc,impl);
  return p;
}

static double run_prepared(int m,int n,int k,int ldc,const float*x,const float*w,const float*bias,float*y){
  void*blocked=NULL; size_t sp;
  dnnl_primitive_t p=prepared(m,n,k,ldc,w,&blocked,&sp);
  const dnnl_primitive_desc_t*pdp; const_dnnl_primitive_desc_t pd; dnnl_primitive_get_primitive_desc(p,&pd); (void)pdp;
  void*pad=sp?aligned_alloc(64,(sp+63)/64*64):NULL;
  double best=1e9;
  for(int r=0;r<REPS;r++){
    double t0=now();
    dnnl_memory_t ma,mb,mc,mbias,mp=NULL;
    dnnl_memory_create(&ma,dnnl_primitive_desc_query_md(pd,dnnl_query_src_md,0),eng,(void*)x);
    dnnl_memory_create(&mb,dnnl_primitive_desc_query_md(pd,dnnl_query_weights_md,0),eng,blocked);
    dnnl_memory_create(&mbias,dnnl_primitive_desc_query_md(pd,dnnl_query_weights_md,1),eng,(void*)bias);
    dnnl_memory_create(&mc,dnnl_primitive_desc_query_md(pd,dnnl_query_dst_md,0),eng,y);
    if(pad) dnnl_memory_create(&mp,dnnl_primitive_desc_query_md(pd,dnnl_query_scratchpad_md,0),eng,pad);
    dnnl_exec_arg_t args[5]={{DNNL_ARG_SRC,ma},{DNNL_ARG_WEIGHTS,mb},{DNNL_ARG_BIAS,mbias},{DNNL_ARG_DST,mc},{DNNL_ARG_SCRATCHPAD,mp}};
    dnnl_primitive_execute(p,st,pad?5:4,args); dnnl_stream_wait(st);
    dnnl_memory_destroy(ma); dnnl_memory_destroy(mb); dnnl_memory_destroy(mc); dnnl_memory_destroy(mbias); if(mp) dnnl_memory_destroy(mp);
    double t=now()-t0; if(r>2&&t<best)best=t;
  }
  dnnl_primitive_destroy(p); free(blocked); free(pad);
  return best;
}

int main(void){
  dnnl_engine_create(&eng,dnnl_cpu,0); dnnl_stream_create(&st,eng,dnnl_stream_default_flags);
  int shapes[4][2]={{384,1152},{384,384},{384,1536},{1536,384}};
  int ms[5]={8,16,32,64,128};
  float*x=malloc(sizeof(float)*128*1536),*w=malloc(sizeof(float)*1536*1536),*y=malloc(sizeof(float)*128*1536),*bias=malloc(sizeof(float)*1536);
  for(int i=0;i<128*1536;i++)x[i]=(float)rand()/RAND_MAX-0.5f;
  for(int i=0;i<1536*1536;i++)w[i]=((float)rand()/RAND_MAX-0.5f)*0.05f;
  for(int i=0;i<1536;i++)bias[i]=0.01f*i;
  printf("%5s %11s %9s %9s %9s %9s %9s   (us, thread CPU time)\n","M","K x N","openblas","dnnsgemm","prepared","half N","half/whole");
  for(int mi=0;mi<5;mi++) for(int s=0;s<4;s++){
    int m=ms[mi],k=shapes[s][0],n=shapes[s][1];
    double ob=1e9, ds=1e9;
    for(int r=0;r<REPS;r++){ double t0=now();
      for(int i=0;i<m;i++) memcpy(y+i*n,bias,n*sizeof(float));
      cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,m,n,k,1,x,k,w,k,1,y,n); double t=now()-t0; if(r>2&&t<ob)ob=t; }
    for(int r=0;r<REPS;r++){ double t0=now();
      for(int i=0;i<m;i++) memcpy(y+i*n,bias,n*sizeof(float));
      dnnl_sgemm('N','T',m,n,k,1,x,k,w,k,1,y,n); double t=now()-t0; if(r>2&&t<ds)ds=t; }
    double pw=run_prepared(m,n,k,n,x,w,bias,y);
    double ph=run_prepared(m,n/2,k,n/2,x,w,bias,y);
    printf("%5d %5dx%-5d %9.1f %9.1f %9.1f %9.1f %9.2f\n",m,k,n,ob*1e6,ds*1e6,pw*1e6,ph*1e6,ph/pw);
  }
  return 0;
}
