// fttrain's matrix products (one slice thread's rows of a 32 x 128 batch on 2 threads; forward NT,
// backward dInput NN and dWeight TN, attention's per-head products): OpenBLAS sgemm against oneDNN
// f32, f32 with fpmath_mode bf16, and bf16 inputs -> f32 (the conversion of A and B timed apart).
// Build: gcc -O3 -march=native bf16_products.c -o bf16_products -ldnnl $(pkg-config --cflags --libs openblas)
// Run one core: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ./bf16_products
#include <oneapi/dnnl/dnnl.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define CK(x) do{dnnl_status_t s=(x); if(s){printf("err %d at %s\n",s,#x); return -1;}}while(0)
static dnnl_engine_t eng; static dnnl_stream_t st;
static uint16_t bf(float f){uint32_t x; memcpy(&x,&f,4); x+=0x7fff+((x>>16)&1); return x>>16;}
// C(m,n) = op(A) op(B); A (m,k) or (k,m) if ta; B (k,n) or (n,k) if tb
static double dnn(int m,int n,int k,int ta,int tb,dnnl_data_type_t dt,int fpm,const float*A,const float*B,float*C,void*Ab,void*Bb){
  dnnl_dims_t ad={m,k}, bd={k,n}, cd={m,n};
  dnnl_dims_t as={ta?1:k, ta?m:1}, bs={tb?1:n, tb?k:1}, cs={n,1};
  dnnl_memory_desc_t a,b,c;
  dnnl_memory_desc_init_by_strides(&a,2,ad,dt,as); dnnl_memory_desc_init_by_strides(&b,2,bd,dt,bs); dnnl_memory_desc_init_by_strides(&c,2,cd,dnnl_f32,cs);
  dnnl_matmul_desc_t md; dnnl_matmul_desc_init(&md,&a,&b,NULL,&c);
  dnnl_primitive_attr_t at; dnnl_primitive_attr_create(&at); if(fpm) dnnl_primitive_attr_set_fpmath_mode(at,dnnl_fpmath_mode_bf16);
  dnnl_primitive_desc_t pd; if(dnnl_primitive_desc_create(&pd,&md,at,eng,NULL)) {printf("no pd\n");return 0;}
  const char*impl; dnnl_primitive_desc_query(pd,dnnl_query_impl_info_str,0,&impl);
  dnnl_primitive_t p; dnnl_primitive_create(&p,pd);
  dnnl_memory_t ma,mb,mc;
  int conv = dt==dnnl_bf16;
  dnnl_memory_create(&ma,&a,eng,conv?Ab:(void*)A); dnnl_memory_create(&mb,&b,eng,conv?Bb:(void*)B); dnnl_memory_create(&mc,&c,eng,C);
  dnnl_exec_arg_t args[3]={{DNNL_ARG_SRC,ma},{DNNL_ARG_WEIGHTS,mb},{DNNL_ARG_DST,mc}};
  double best=1e9, cbest=1e9;
  for(int r=0;r<12;r++){ double t0=now();
    if(conv){ uint16_t*x=Ab,*y=Bb; for(long i=0;i<(long)m*k;i++)x[i]=bf(A[i]); for(long i=0;i<(long)k*n;i++)y[i]=bf(B[i]); }
    double t1=now();
    dnnl_primitive_execute(p,st,3,args); dnnl_stream_wait(st); double t=now()-t1; if(r>0&&t<best)best=t; if(r>0&&t1-t0<cbest)cbest=t1-t0;}
  if(conv) printf("   (conversion of A and B: %.2f ms, product %.2f ms)\n", cbest*1e3, best*1e3);
  double g=2.0*m*n*k/best/1e9; printf("   %-14s %6.1f GFLOP/s %s\n", dt==dnnl_bf16?"onednn bf16+cv":(fpm?"onednn f32 fpm":"onednn f32"), g, impl);
  return g;
}
int main(){
  dnnl_engine_create(&eng,dnnl_cpu,0); dnnl_stream_create(&st,eng,dnnl_stream_default_flags);
  printf("isa %d\n", dnnl_get_effective_cpu_isa());
  int R=2048; // one slice thread's rows of a 32x128 batch on 2 threads
  // name, m,n,k,ta,tb
  struct {const char*nm;int m,n,k,ta,tb;} S[]={
   {"fwd qkv NT",R,1152,384,0,1},{"fwd out NT",R,384,384,0,1},{"fwd ffn1 NT",R,1536,384,0,1},{"fwd ffn2 NT",R,384,1536,0,1},
   {"bwd dX ffn2 NN",R,1536,384,0,0},{"bwd dX qkv NN",R,384,1152,0,0},
   {"bwd dW qkv TN",576,384,4096,1,0},{"bwd dW ffn1 TN",768,384,4096,1,0},{"bwd dW ffn2 TN",192,1536,4096,1,0},
   {"attn QK^T NT",128,128,32,0,1},{"attn PV NN",128,32,128,0,0}};
  for(int i=0;i<sizeof(S)/sizeof(S[0]);i++){int m=S[i].m,n=S[i].n,k=S[i].k,ta=S[i].ta,tb=S[i].tb;
    float*A=malloc(4L*m*k),*B=malloc(4L*k*n),*C=malloc(4L*m*n); void*Ab=malloc(2L*m*k),*Bb=malloc(2L*k*n);
    for(long j=0;j<(long)m*k;j++)A[j]=(rand()%100)*0.01f; for(long j=0;j<(long)k*n;j++)B[j]=(rand()%100)*0.01f;
    printf("%s m=%d n=%d k=%d\n",S[i].nm,m,n,k);
    double best=1e9; for(int r=0;r<12;r++){double t0=now(); cblas_sgemm(CblasRowMajor,ta?CblasTrans:CblasNoTrans,tb?CblasTrans:CblasNoTrans,m,n,k,1,A,ta?m:k,B,tb?k:n,0,C,n); double t=now()-t0; if(r>0&&t<best)best=t;}
    printf("   openblas sgemm %6.1f GFLOP/s\n",2.0*m*n*k/best/1e9);
    dnn(m,n,k,ta,tb,dnnl_f32,0,A,B,C,Ab,Bb); dnn(m,n,k,ta,tb,dnnl_f32,1,A,B,C,Ab,Bb); dnn(m,n,k,ta,tb,dnnl_bf16,0,A,B,C,Ab,Bb);
    free(A);free(B);free(C);free(Ab);free(Bb);}
}
