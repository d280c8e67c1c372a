file(REMOVE_RECURSE
  "CMakeFiles/gradoracle_torch.dir/gradoracle_torch.cpp.o"
  "CMakeFiles/gradoracle_torch.dir/gradoracle_torch.cpp.o.d"
  "libgradoracle_torch.pdb"
  "libgradoracle_torch.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/gradoracle_torch.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
